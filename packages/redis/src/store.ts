import type {
  SaveResult,
  SessionChange,
  SessionMeta,
  SessionRecord,
  SessionStore,
  StoreCapabilities,
} from '@sessionkit/core'
import { isSessionError, SessionError } from '@sessionkit/core'
import type { ChainableCommander, Cluster, Redis } from 'ioredis'
import { bounded } from './errors'
import { fromLegacy } from './legacy'
import {
  ATTR_PREFIX,
  DELETE_LUA,
  INDEX_LUA,
  META,
  SAVE_LUA,
  TAKE_LEGACY_LUA,
  TAKE_LUA,
  TOUCH_LUA,
} from './scripts'

/**
 * Options of {@link RedisStore}.
 *
 * @example
 * ```ts
 * const options: RedisStoreOptions = {
 *   client: new Cluster([{ host: 'redis-1', port: 6379 }]),
 *   prefix: 'myapp:sess:',
 *   waitForReplicas: { replicas: 1, timeoutMs: 500 },
 * }
 * ```
 */
export interface RedisStoreOptions {
  /**
   * An ioredis client you created: `new Redis(url)`, `new Redis({ sentinels, name })` or
   * `new Cluster(nodes)`. The store never closes it.
   */
  client: Redis | Cluster
  /** Prepended to every key. Default `'sess:'`. */
  prefix?: string
  /**
   * Upper bound in ms for one store operation. Past it the operation fails with
   * STORE_UNAVAILABLE even if ioredis is still queueing or retrying. Default 2000.
   */
  commandTimeoutMs?: number
  /**
   * After each write, `WAIT` until this many replicas have it (or `timeoutMs` passes), so an
   * acknowledged write survives a failover. With `onShortfall: 'error'` (default) a write that
   * reached fewer replicas fails with STORE_UNAVAILABLE; `'accept'` answers as saved anyway.
   */
  waitForReplicas?: { replicas: number; timeoutMs: number; onShortfall?: 'error' | 'accept' }
  /**
   * Also read sessions written by connect-redis (`<prefix><id>` JSON strings) when no record
   * exists in the new layout; the first save or touch moves them to the new layout.
   */
  legacy?: { prefix?: string }
}

type Reply = [string | number, string]
type Client = Redis | Cluster

/** The scripts, as ioredis custom commands: EVALSHA, falling back to EVAL on a new connection. */
interface Scripts {
  sessionkitSave(key: string, ...args: (string | number)[]): Promise<Reply>
  sessionkitTouch(key: string, ...args: (string | number)[]): Promise<Reply>
  sessionkitTake(key: string, mode: string, now: number): Promise<string[] | null>
  sessionkitDelete(key: string): Promise<string | null>
  sessionkitTakeLegacy(key: string): Promise<[string, number] | null>
  sessionkitIndex(key: string, id: string, expiresAt: number, now: number): Promise<number>
}

const SCRIPTS = {
  sessionkitSave: SAVE_LUA,
  sessionkitTouch: TOUCH_LUA,
  sessionkitTake: TAKE_LUA,
  sessionkitDelete: DELETE_LUA,
  sessionkitTakeLegacy: TAKE_LEGACY_LUA,
  sessionkitIndex: INDEX_LUA,
}

/**
 * Session store for Redis standalone, Sentinel and Cluster, from one class: the topology is
 * whatever ioredis client you pass.
 *
 * - load: one HGETALL. save: one EVALSHA (plus a ZADD sent alongside when the session has a
 *   principal). touch: one EVALSHA. Never CONFIG, KEYS or SCAN.
 * - Every operation settles within `commandTimeoutMs`; outages surface as STORE_UNAVAILABLE.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { RedisStore } from '@sessionkit/redis'
 *
 * const store = new RedisStore({ client: new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 1 }) })
 * ```
 */
export class RedisStore implements SessionStore {
  readonly capabilities: StoreCapabilities = { principalIndex: true, shared: true }
  private readonly client: Client & Scripts
  private readonly prefix: string
  private readonly timeoutMs: number
  private readonly replicas: RedisStoreOptions['waitForReplicas']
  private readonly legacyPrefix: string | undefined

  constructor(options: RedisStoreOptions) {
    if (!options?.client || typeof options.client.defineCommand !== 'function') {
      throw new SessionError(
        'INVALID_OPTIONS',
        'RedisStore needs `client`: an ioredis Redis or Cluster instance',
      )
    }
    const timeout = options.commandTimeoutMs ?? 2000
    if (!(timeout > 0))
      throw new SessionError('INVALID_OPTIONS', 'commandTimeoutMs must be a positive number')
    const wait = options.waitForReplicas
    if (wait && !(wait.replicas >= 1 && wait.timeoutMs > 0)) {
      throw new SessionError('INVALID_OPTIONS', 'waitForReplicas needs replicas >= 1 and timeoutMs > 0')
    }
    this.client = options.client as Client & Scripts
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      if (!(name in this.client)) this.client.defineCommand(name, { numberOfKeys: 1, lua })
    }
    this.prefix = options.prefix ?? 'sess:'
    this.timeoutMs = timeout + (wait?.timeoutMs ?? 0)
    this.replicas = wait
    this.legacyPrefix = options.legacy ? (options.legacy.prefix ?? 'sess:') : undefined
  }

  /** `<prefix>{<id>}`: the hash tag keeps everything about one session in one Cluster slot. */
  key(id: string): string {
    return `${this.prefix}{${id}}`
  }

  /** `<prefix>principal:{<principal>}`: sorted set of session ids scored by expiresAt. */
  principalKey(principal: string): string {
    return `${this.prefix}principal:{${principal}}`
  }

  async load(id: string): Promise<SessionRecord | undefined> {
    return bounded('load', this.timeoutMs, async () => {
      const now = Date.now()
      let hash: Record<string, string>
      try {
        hash = await this.client.hgetall(this.key(id))
      } catch (err) {
        if (/WRONGTYPE/.test(String((err as Error)?.message))) {
          throw new SessionError('CORRUPT_RECORD', `redis key for a session is not a hash`, { cause: err })
        }
        throw err
      }
      if (Object.keys(hash).length > 0) return parseRecord(id, hash, now)
      if (this.legacyPrefix === undefined) return undefined
      return this.loadLegacy(id, now)
    })
  }

  private async loadLegacy(id: string, now: number): Promise<SessionRecord | undefined> {
    const key = this.legacyPrefix + id
    const replies = await this.client.pipeline().get(key).pttl(key).exec()
    const [[getErr, json], [ttlErr, pttl]] = replies as [
      [Error | null, string | null],
      [Error | null, number],
    ]
    if (getErr || ttlErr) {
      if (/WRONGTYPE/.test(String((getErr ?? ttlErr)?.message))) return undefined
      throw getErr ?? ttlErr
    }
    if (json === null) return undefined
    const record = fromLegacy(id, json, pttl, now)
    return record.expiresAt > now ? record : undefined
  }

  async save(change: SessionChange): Promise<SaveResult> {
    return bounded('save', this.timeoutMs, async () => {
      if (change.previousId !== undefined && change.previousId !== change.id) return this.rotate(change)
      const now = Date.now()
      const args = saveArgs(change.isNew ? 'create' : 'update', now, change.meta, change.set, change.removed)
      const [[result, oldPrincipal]] = await Promise.all([
        this.durable(this.key(change.id), (p) => p.sessionkitSave(this.key(change.id), ...args)),
        this.indexAdd(change.meta.principal, change.id, change.meta.expiresAt),
      ])
      if (result === 'gone' && this.legacyPrefix !== undefined) {
        return this.migrate(change.id, change.meta, change.set, change.removed, now)
      }
      if (result === 'saved') await this.indexDrop(String(oldPrincipal), change.meta.principal, change.id)
      return result as SaveResult
    })
  }

  async touch(id: string, meta: SessionMeta): Promise<boolean> {
    return bounded('touch', this.timeoutMs, async () => {
      const now = Date.now()
      const args = ['', now, ...metaArgs(meta)]
      const [[ok, oldPrincipal]] = await Promise.all([
        this.durable(this.key(id), (p) => p.sessionkitTouch(this.key(id), ...args)),
        this.indexAdd(meta.principal, id, meta.expiresAt),
      ])
      if (Number(ok) === 1) {
        await this.indexDrop(String(oldPrincipal), meta.principal, id)
        return true
      }
      if (this.legacyPrefix === undefined) return false
      return (await this.migrate(id, meta, {}, [], now)) === 'saved'
    })
  }

  async delete(id: string): Promise<void> {
    return bounded('delete', this.timeoutMs, async () => {
      const [principal] = await Promise.all([
        this.client.sessionkitDelete(this.key(id)),
        this.legacyPrefix === undefined ? undefined : this.client.del(this.legacyPrefix + id),
      ])
      if (principal) await this.client.zrem(this.principalKey(principal), id)
    })
  }

  async findByPrincipal(principal: string): Promise<SessionRecord[]> {
    return bounded('findByPrincipal', this.timeoutMs, async () => {
      const key = this.principalKey(principal)
      const now = Date.now()
      // Entries carry the session's expiry as score: pruning on read keeps the set bounded
      // without keyspace notifications, which managed Redis often disables.
      const replies = await this.client
        .pipeline()
        .zremrangebyscore(key, '-inf', now)
        .zrangebyscore(key, `(${now}`, '+inf')
        .exec()
      const [, [err, ids]] = replies as [unknown, [Error | null, string[]]]
      if (err) throw err
      // Separate commands, not one pipeline: in Cluster the sessions live in different slots.
      const records = await Promise.all(
        ids.map(async (id) => {
          const hash = await this.client.hgetall(this.key(id)).catch((e: unknown) => {
            if (/WRONGTYPE/.test(String((e as Error)?.message))) return {}
            throw e
          })
          if (Object.keys(hash).length === 0) return undefined
          try {
            return parseRecord(id, hash, Date.now())
          } catch (e) {
            if (isSessionError(e, 'CORRUPT_RECORD')) return undefined
            throw e
          }
        }),
      )
      return records.filter((r): r is SessionRecord => r !== undefined && r.principal === principal)
    })
  }

  /**
   * Rotation crosses slots (two hash tags), so it cannot be one script or a RENAME: take the old
   * record atomically (one winner among concurrent rotations), then create the new one.
   */
  private async rotate(change: SessionChange): Promise<SaveResult> {
    const previousId = change.previousId!
    const now = Date.now()
    let previous: Record<string, string> | undefined
    const taken = await this.client.sessionkitTake(this.key(previousId), '', now)
    if (taken) {
      previous = {}
      for (let i = 0; i + 1 < taken.length; i += 2) previous[taken[i]!] = taken[i + 1]!
    } else if (this.legacyPrefix !== undefined) {
      if (await this.takeLegacy(previousId, now)) previous = {}
    }
    if (!previous) return 'gone'

    // A rotation's `set` holds every attribute the session keeps: nothing is carried over.
    const args = saveArgs('create', now, change.meta, change.set, [])
    const [result] = await this.durable(this.key(change.id), (p) =>
      p.sessionkitSave(this.key(change.id), ...args),
    )
    if (result === 'collision') {
      // Put the old record back rather than lose the session.
      const restore = taken ? rawCreateArgs(previous, now) : undefined
      if (restore) await this.client.sessionkitSave(this.key(previousId), ...restore)
      return 'collision'
    }
    const oldPrincipal = previous[META.principal]
    await Promise.all([
      oldPrincipal ? this.client.zrem(this.principalKey(oldPrincipal), previousId) : undefined,
      this.indexAdd(change.meta.principal, change.id, change.meta.expiresAt),
    ])
    return 'saved'
  }

  /**
   * The first write to a session that exists only as a connect-redis record: take the legacy
   * record (atomically, so one writer wins), write it in the new layout with the change applied.
   */
  private async migrate(
    id: string,
    meta: SessionMeta,
    set: Record<string, string>,
    removed: string[],
    now: number,
  ): Promise<SaveResult> {
    const legacy = await this.takeLegacy(id, now)
    if (!legacy) return 'gone'
    const attributes: Record<string, string> = Object.assign(Object.create(null), legacy.attributes, set)
    for (const name of removed) delete attributes[name]
    const args = saveArgs('create', now, meta, attributes, [])
    const [[result]] = await Promise.all([
      this.durable(this.key(id), (p) => p.sessionkitSave(this.key(id), ...args)),
      this.indexAdd(meta.principal, id, meta.expiresAt),
    ])
    // 'collision': a concurrent request migrated it first; apply this change on top.
    if (result === 'collision') {
      const update = saveArgs('update', now, meta, set, removed)
      const [again] = await this.client.sessionkitSave(this.key(id), ...update)
      return again as SaveResult
    }
    return result as SaveResult
  }

  private async takeLegacy(id: string, now: number): Promise<SessionRecord | undefined> {
    const reply = await this.client.sessionkitTakeLegacy(this.legacyPrefix + id).catch((err: unknown) => {
      if (/WRONGTYPE/.test(String((err as Error)?.message))) return null
      throw err
    })
    if (!reply) return undefined
    try {
      const record = fromLegacy(id, reply[0], Number(reply[1]), now)
      return record.expiresAt > now ? record : undefined
    } catch (err) {
      if (isSessionError(err, 'CORRUPT_RECORD')) return undefined
      throw err
    }
  }

  /**
   * Sends one script, followed in the same pipeline by WAIT when durability is asked for.
   * WAIT has no key, so in Cluster the pipeline goes to the node owning `key`: the one to wait on.
   */
  private async durable(key: string, send: (target: Scripts) => Promise<Reply>): Promise<Reply> {
    if (!this.replicas) return send(this.client)
    const [reply, acked] = await this.withWait<Reply>(key, (p) => send(p as unknown as Scripts))
    if (reply[0] === 'saved' || Number(reply[0]) === 1) this.checkAcked(acked, key)
    return reply
  }

  private async withWait<T>(
    key: string,
    queue: (pipeline: ChainableCommander) => unknown,
    attempt = 1,
  ): Promise<[T, number]> {
    const wanted = this.replicas!
    const pipeline = this.client.pipeline()
    // On a pipeline a command queues and returns the pipeline, not a reply.
    queue(pipeline)
    pipeline.wait(wanted.replicas, wanted.timeoutMs)
    const replies = (await pipeline.exec()) ?? []
    const [[err, reply], [waitErr, acked]] = replies as [[Error | null, T], [Error | null, number]]
    if (err && /^(MOVED|ASK) /.test(err.message) && attempt < 4) {
      // ioredis follows a redirection for a pipeline only when every command in it was
      // redirected, which the keyless WAIT never is. A single command on the key follows it
      // and updates the slot map; the command was not run, so sending it again is safe.
      await this.client.exists(key)
      return this.withWait(key, queue, attempt + 1)
    }
    if (err) throw err
    if (waitErr) throw waitErr
    return [reply, acked]
  }

  private checkAcked(acked: number, key: string) {
    const wanted = this.replicas!
    if (acked < wanted.replicas && wanted.onShortfall !== 'accept') {
      throw new SessionError(
        'STORE_UNAVAILABLE',
        `write to ${key.slice(0, this.prefix.length)}… reached ${acked} of ${wanted.replicas} replicas within ${wanted.timeoutMs} ms`,
      )
    }
  }

  /**
   * Index entry for a session with a principal (see INDEX_LUA): its expiry only moves forward,
   * so a racing older write never drops a live session early, and each write prunes the set.
   */
  private async indexAdd(principal: string | undefined, id: string, expiresAt: number): Promise<void> {
    if (!principal) return
    const key = this.principalKey(principal)
    if (!this.replicas) {
      await this.client.sessionkitIndex(key, id, expiresAt, Date.now())
      return
    }
    const [, acked] = await this.withWait<number>(key, (p) =>
      (p as unknown as Scripts).sessionkitIndex(key, id, expiresAt, Date.now()),
    )
    this.checkAcked(acked, key)
  }

  /** Removes the entry from the previous principal's index when the principal changed. */
  private async indexDrop(oldPrincipal: string, principal: string | undefined, id: string): Promise<void> {
    if (oldPrincipal && oldPrincipal !== principal)
      await this.client.zrem(this.principalKey(oldPrincipal), id)
  }
}

function metaArgs(meta: SessionMeta): (string | number)[] {
  return [meta.createdAt, meta.lastAccessedAt, meta.maxInactiveMs, meta.expiresAt, meta.principal ?? '']
}

function saveArgs(
  mode: 'create' | 'update',
  now: number,
  meta: SessionMeta,
  set: Record<string, string>,
  removed: string[],
): (string | number)[] {
  const args: (string | number)[] = [mode, now, ...metaArgs(meta)]
  const names = Object.keys(set)
  args.push(names.length)
  for (const name of names) args.push(ATTR_PREFIX + name, set[name]!)
  for (const name of removed) if (!(name in set)) args.push(ATTR_PREFIX + name)
  return args
}

/** Create-args that write a taken hash back verbatim (undoing a rotation that collided). */
function rawCreateArgs(hash: Record<string, string>, now: number): (string | number)[] | undefined {
  const record = parseRecord('', hash, now)
  return record && saveArgs('create', now, record, record.attributes, [])
}

function parseRecord(id: string, hash: Record<string, string>, now: number): SessionRecord | undefined {
  const number = (field: string) => {
    const raw = hash[field]
    const value = raw === undefined || raw === '' ? Number.NaN : Number(raw)
    if (!Number.isSafeInteger(value)) {
      throw new SessionError('CORRUPT_RECORD', `session hash field ${field} is missing or not an integer`)
    }
    return value
  }
  const record: SessionRecord = {
    id,
    createdAt: number(META.createdAt),
    lastAccessedAt: number(META.lastAccessedAt),
    maxInactiveMs: number(META.maxInactiveMs),
    expiresAt: number(META.expiresAt),
    // null prototype: an attribute may be called `__proto__`
    attributes: Object.create(null),
  }
  if (record.expiresAt <= now) return undefined
  const principal = hash[META.principal]
  if (principal) record.principal = principal
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith(ATTR_PREFIX)) record.attributes[field.slice(ATTR_PREFIX.length)] = value
  }
  return record
}
