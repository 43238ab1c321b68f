/**
 * Copies the sessions koa-redis holds (koa-session's JSON: the data plus `_expire` and
 * `_maxAge`, one Redis string per session) into `@sessionkit/redis` records, so an app leaving
 * koa-redis for `RedisStore` under @sessionkit/koa keeps its users logged in
 * (docs/MIGRATION.md, "koa-session + koa-redis → @sessionkit/koa"). Copy this file into your
 * project; it needs `ioredis` and `@sessionkit/redis`.
 *
 * Each session keeps its key as its id (the cookie users hold names that key, so the
 * middleware finds it), its data and its expiry. SCAN-based at a bounded rate, resumable from
 * the cursor it reports, and safe to run again: a session the target already holds is left
 * alone (`isNew: true` answers 'collision'). The koa-redis records are not touched.
 */
import type { SessionRecord, SessionStore } from '@sessionkit/core'
import type { Cluster, Redis } from 'ioredis'

/** koa-session's store `maxAge` for a browser-session cookie (`maxAge: 'session'`): one day. */
const DAY_MS = 86_400_000

export interface KoaRedisCopyOptions {
  /** The client koa-redis used (a standalone Redis: SCAN walks one node). */
  client: Redis
  /** The target: `new RedisStore({ client })`. */
  target: SessionStore
  /** SCAN pattern of koa-redis keys: koa-session's `prefix` + `*`. Default `'koa:sess:*'`. */
  match?: string
  /** Keys per SCAN call, and saves in flight at once. Default 200. */
  batch?: number
  /** Resume from a cursor an earlier run reported. Default `'0'` (the start). */
  cursor?: string
  /** Called after each batch with the counts so far and the cursor to resume from. */
  onProgress?: (progress: KoaRedisCopyReport) => void
}

export interface KoaRedisCopyReport {
  copied: number
  /** The target already held this id: left as it was. */
  alreadyThere: number
  /** Expired (or deleted) between SCAN and save: not carried. */
  expired: number
  /** Not koa-session JSON: left in koa-redis, not carried. */
  unreadable: number
  /** `'0'` once the whole keyspace was walked. */
  cursor: string
}

/**
 * A sessionkit record for a koa-redis value, as @sessionkit/koa would have stored the same
 * session in a sessionkit store: every data key one JSON attribute, the cookie's lifetime in
 * the `cookie` attribute, expiry at koa-session's `_expire`. Undefined when it is not one.
 */
export function fromKoaRedis(
  key: string,
  json: string,
  pttl: number,
  now: number,
): SessionRecord | undefined {
  let data: unknown
  try {
    data = JSON.parse(json, (name, value) => (name === '__proto__' ? undefined : value))
  } catch {
    return undefined
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined
  const { _expire, _maxAge, ...rest } = data as Record<string, unknown>
  const maxAge = typeof _maxAge === 'number' ? _maxAge : undefined
  // koa-redis sets the key's TTL from the same maxAge; `_expire` is what koa-session checks.
  const expiresAt = typeof _expire === 'number' ? _expire : pttl > 0 ? now + pttl : now + (maxAge ?? DAY_MS)
  const attributes: Record<string, string> = {}
  for (const [name, value] of Object.entries(rest)) {
    if (value !== undefined) attributes[name] = JSON.stringify(value)
  }
  // `null`: a browser-session cookie (koa-session's `maxAge: 'session'` stores `_maxAge: 'session'`).
  attributes.cookie = JSON.stringify({ originalMaxAge: maxAge ?? null })
  return {
    id: key,
    createdAt: now,
    lastAccessedAt: now,
    maxInactiveMs: maxAge ?? DAY_MS,
    expiresAt,
    attributes,
  }
}

/**
 * Walks the koa-redis keys with SCAN and creates each session in `target`.
 *
 * @example
 * ```ts
 * const client = new Redis(process.env.REDIS_URL!)
 * const report = await copyKoaRedisSessions({ client, target: new RedisStore({ client }) })
 * ```
 */
export async function copyKoaRedisSessions(options: KoaRedisCopyOptions): Promise<KoaRedisCopyReport> {
  const { client, target, match = 'koa:sess:*', batch = 200, onProgress } = options
  const report: KoaRedisCopyReport = {
    copied: 0,
    alreadyThere: 0,
    expired: 0,
    unreadable: 0,
    cursor: options.cursor ?? '0',
  }
  do {
    const [next, keys] = await client.scan(report.cursor, 'MATCH', match, 'COUNT', batch)
    if (keys.length > 0) await copyKeys(client as Redis | Cluster, keys, target, report)
    report.cursor = next
    onProgress?.({ ...report })
  } while (report.cursor !== '0')
  return report
}

async function copyKeys(
  client: Redis | Cluster,
  keys: string[],
  target: SessionStore,
  report: KoaRedisCopyReport,
) {
  const pipeline = client.pipeline()
  for (const key of keys) pipeline.get(key).pttl(key)
  const replies = (await pipeline.exec()) ?? []
  const now = Date.now()
  await Promise.all(
    keys.map(async (key, i) => {
      const json = replies[2 * i]?.[1] as string | null
      const pttl = replies[2 * i + 1]?.[1] as number
      if (json === null || json === undefined) {
        report.expired++
        return
      }
      const record = fromKoaRedis(key, json, pttl, now)
      if (!record) {
        report.unreadable++
        return
      }
      if (record.expiresAt <= Date.now()) {
        report.expired++
        return
      }
      const result = await target.save({
        id: record.id,
        isNew: true,
        meta: {
          createdAt: record.createdAt,
          lastAccessedAt: record.lastAccessedAt,
          maxInactiveMs: record.maxInactiveMs,
          expiresAt: record.expiresAt,
          principal: null,
        },
        set: record.attributes,
        removed: [],
      })
      if (result === 'saved') report.copied++
      else report.alreadyThere++
    }),
  )
}
