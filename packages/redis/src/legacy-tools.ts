import { setTimeout as delay } from 'node:timers/promises'
import { SessionError } from '@sessionkit/core'
import type { Cluster, Redis } from 'ioredis'
import type { Client } from './commands'
import type { LegacyRecords } from './migration'

/** What {@link LegacyMigration.count} finds. */
export interface LegacyCount {
  /** connect-redis records (`<legacy prefix><id>` strings): sessions still in the old format. */
  legacy: number
  /** Sessions in sessionkit's layout (`<prefix>{<id>}` hashes). */
  sessionkit: number
}

/** Options of {@link LegacyMigration.convert}. */
export interface ConvertOptions {
  /** Keys asked of each SCAN, and sessions moved concurrently. Default 200. */
  batch?: number
  /** Upper bound of sessions moved per second. Default 1000. */
  ratePerSecond?: number
  /** Where an earlier run stopped (its `cursor`); omit to start from the beginning. */
  cursor?: string
  /** Called after each batch with the progress so far: persist `cursor` to resume after a crash. */
  onProgress?: (progress: ConvertProgress) => void | Promise<void>
  /** Stops after the batch in flight; the answer's `cursor` resumes from there. */
  signal?: AbortSignal
}

export interface ConvertProgress {
  /** Legacy records looked at. */
  scanned: number
  /** Moved to sessionkit's layout. */
  converted: number
  /** Expired, deleted or unreadable by the time they were reached: nothing to move. */
  skipped: number
  /** Resumes the scan after what is done; `undefined` once the whole keyspace was scanned. */
  cursor: string | undefined
}

/**
 * The tools of the migration's last phase (docs/MIGRATION.md): count the sessions still in
 * connect-redis' format, and move them all to sessionkit's layout at a bounded rate. SCAN-based
 * (on every master of a Cluster), so Redis stays responsive; resumable from a cursor. Every
 * move is one session's own (new record first, then the legacy key, if unchanged), so users
 * stay logged in while it runs and it can run beside live traffic, or again.
 *
 * @example
 * ```ts
 * const store = new RedisStore({ client, legacy: { prefix: 'sess:' } })
 * console.log(await store.migration!.count()) // { legacy: 81234, sessionkit: 20211 }
 * await store.migration!.convert({ ratePerSecond: 2000, onProgress: (p) => console.log(p) })
 * ```
 */
export class LegacyMigration {
  constructor(
    private readonly client: Client,
    private readonly records: LegacyRecords,
    private readonly prefix: string,
  ) {}

  async count(options: { batch?: number } = {}): Promise<LegacyCount> {
    const batch = checkBatch(options.batch)
    let legacy = 0
    let sessionkit = 0
    for await (const page of this.scan(`${glob(this.records.legacyKey(''))}*`, 'string', batch, undefined)) {
      legacy += page.keys.filter((k) => this.legacyId(k) !== undefined).length
    }
    for await (const page of this.scan(`${glob(this.prefix)}{*`, 'hash', batch, undefined)) {
      sessionkit += page.keys.length
    }
    return { legacy, sessionkit }
  }

  async convert(options: ConvertOptions = {}): Promise<ConvertProgress> {
    const batch = checkBatch(options.batch)
    const rate = options.ratePerSecond ?? 1000
    if (!(rate > 0))
      throw new SessionError('INVALID_OPTIONS', 'convert: ratePerSecond must be a positive number')
    const progress: ConvertProgress = { scanned: 0, converted: 0, skipped: 0, cursor: options.cursor }
    const started = performance.now()
    const match = `${glob(this.records.legacyKey(''))}*`
    for await (const page of this.scan(match, 'string', batch, options.cursor)) {
      const ids = page.keys.map((k) => this.legacyId(k)).filter((id): id is string => id !== undefined)
      const now = Date.now()
      const results = await Promise.all(ids.map((id) => this.records.convert(id, now)))
      progress.scanned += ids.length
      for (const result of results) result === 'saved' ? progress.converted++ : progress.skipped++
      progress.cursor = page.next
      await options.onProgress?.({ ...progress })
      if (options.signal?.aborted) break
      // The rate bound: never ahead of `rate` sessions per second since the start.
      const ahead = (progress.scanned / rate) * 1000 - (performance.now() - started)
      if (ahead > 0) await delay(ahead)
    }
    return progress
  }

  /** The session id of a legacy key; undefined for keys that are no session id under the prefix. */
  private legacyId(key: string): string | undefined {
    const id = key.slice(this.records.legacyKey('').length)
    return /^[A-Za-z0-9_-]{1,128}$/.test(id) ? id : undefined
  }

  /**
   * SCAN MATCH … TYPE … on each master (sorted by address, so a cursor names the same node in
   * the next run), one page at a time. A cursor is `<node index>:<SCAN cursor>`.
   */
  private async *scan(match: string, type: string, count: number, from: string | undefined) {
    const nodes = masters(this.client)
    let [node, cursor] = parseCursor(from, nodes.length)
    for (; node < nodes.length; node++, cursor = '0') {
      do {
        const [next, keys] = await nodes[node]!.scan(cursor, 'MATCH', match, 'COUNT', count, 'TYPE', type)
        cursor = next
        const last = cursor === '0' && node === nodes.length - 1
        yield { keys, next: last ? undefined : cursor === '0' ? `${node + 1}:0` : `${node}:${cursor}` }
      } while (cursor !== '0')
    }
  }
}

function masters(client: Client): Redis[] {
  if (!(client as Cluster).isCluster) return [client as Redis]
  return (client as Cluster).nodes('master').sort((a, b) => address(a).localeCompare(address(b)))
}

function address(node: Redis): string {
  return `${node.options.host}:${node.options.port}`
}

function parseCursor(cursor: string | undefined, nodes: number): [number, string] {
  if (cursor === undefined) return [0, '0']
  const match = /^(\d+):(\d+)$/.exec(cursor)
  if (!match || Number(match[1]) >= nodes) {
    throw new SessionError(
      'INVALID_OPTIONS',
      `convert: cursor ${JSON.stringify(cursor)} is not one convert answered`,
    )
  }
  return [Number(match[1]), match[2]!]
}

function checkBatch(batch = 200): number {
  if (!(Number.isInteger(batch) && batch >= 1 && batch <= 10_000)) {
    throw new SessionError('INVALID_OPTIONS', 'batch must be an integer from 1 to 10000')
  }
  return batch
}

/** A prefix as a SCAN MATCH pattern: glob characters matched literally. */
function glob(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, '\\$&')
}
