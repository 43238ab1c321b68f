import type {
  SaveResult,
  SessionChange,
  SessionRecord,
  SessionStore,
  SessionTouch,
  StoreCapabilities,
} from '@sessionkit/core'
import { isSessionError, SessionError } from '@sessionkit/core'
import type { Cluster, Redis } from 'ioredis'
import { ServerClock } from './clock'
import { type Client, type Reply, withScripts } from './commands'
import { Deadlines } from './deadlines'
import { type ReplicaWait, type WriteBudget, Writes } from './durability'
import { isWrongType } from './errors'
import { KeptLegacy } from './legacy-keep'
import { LegacyMigration } from './legacy-tools'
import { LegacyRecords } from './migration'
import { PrincipalIndex } from './principal-index'
import { checked, createArgs, parseRecord, touchArgs, updateArgs } from './record'
import { Resolutions } from './resolutions'
import { type RotationContext, rotate } from './rotation'

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
   * After each write (saves, touches, deletes, both halves of a rotation, principal index
   * updates), `WAIT` until this many replicas have it (or `timeoutMs` passes), so an
   * acknowledged write survives a failover. Writes and WAITs go on a connection the store opens
   * for them (a `duplicate()` of `client`, closed by {@link RedisStore.close} or when `client`
   * ends), so loads never wait behind a WAIT. Each write counts the master's online replicas
   * first: with `onShortfall: 'error'` (default) a write to a master with fewer is refused
   * unwritten (STORE_UNAVAILABLE), and one whose WAIT comes back short answers
   * STORE_UNAVAILABLE (it is on the master); `'accept'` writes anyway and answers as saved
   * within `timeoutMs`.
   */
  waitForReplicas?: ReplicaWait
  /**
   * Also read sessions written by connect-redis (`<prefix><id>` JSON strings) when no record
   * exists in the new layout; the first save or touch moves them to the new layout. With
   * `keep: true` (while express-session or @fastify/session servers still share the store) they
   * stay in connect-redis' format instead, and new sessions start in it: docs/MIGRATION.md.
   */
  legacy?: { prefix?: string; keep?: boolean }
}

/** Margin left to a rotation before the operation's bound, so its answer arrives in time. */
const ROTATION_MARGIN_MS = 20

/**
 * How long before the store gives up on a write the write's deadline in Redis falls (at most;
 * a quarter of `commandTimeoutMs` when that is shorter): a script that runs just before its
 * deadline still has this long for its answer to reach the app before the app answers
 * STORE_UNAVAILABLE. Covers the reply's way back and a busy event loop.
 */
const LATE_MARGIN_MS = 250

/**
 * Session store for Redis standalone, Sentinel and Cluster, from one class: the topology is
 * whatever ioredis client you pass.
 *
 * - load: one HGETALL. save and touch: one EVALSHA, plus one index script once the outcome
 *   is known when the session has a principal. Never CONFIG, KEYS or SCAN.
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
  private readonly client: Client
  private readonly prefix: string
  private readonly timeoutMs: number
  private readonly commandTimeoutMs: number
  private readonly clock: ServerClock
  private readonly deadlines: Deadlines
  private readonly writes: Writes
  private readonly index: PrincipalIndex
  private readonly legacy: LegacyRecords | undefined
  private readonly kept: KeptLegacy | undefined
  /** With `legacy`: count the sessions still in connect-redis' format, and convert them in bulk. */
  readonly migration: LegacyMigration | undefined
  private readonly rotation: RotationContext
  private readonly resolutions = new Resolutions()

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
    this.client = withScripts(options.client)
    this.prefix = options.prefix ?? 'sess:'
    this.commandTimeoutMs = timeout
    this.timeoutMs = timeout + (wait?.timeoutMs ?? 0)
    this.clock = new ServerClock(this.client)
    this.deadlines = new Deadlines(this.timeoutMs)
    this.writes = new Writes(this.client, wait)
    this.index = new PrincipalIndex(this.client, this.writes, this.prefix)
    this.legacy = options.legacy
      ? new LegacyRecords(this.client, this.writes, this.index, options.legacy.prefix ?? 'sess:', (id) =>
          this.key(id),
        )
      : undefined
    // legacy.keep and the migration tools (legacy-keep.ts, legacy-tools.ts)
    this.kept =
      this.legacy && options.legacy?.keep ? new KeptLegacy(this.legacy, this.writes, this.index) : undefined
    this.migration = this.legacy && new LegacyMigration(this.client, this.legacy, this.prefix)
    this.rotation = {
      client: this.client,
      writes: this.writes,
      index: this.index,
      legacy: this.legacy,
      resolutions: this.resolutions,
      key: (id) => this.key(id),
    }
  }

  /** `<prefix>{<id>}`: the hash tag keeps everything about one session in one Cluster slot. */
  key(id: string): string {
    return `${this.prefix}{${id}}`
  }

  /** `<prefix>principal:{<principal>}`: sorted set of session ids scored by expiresAt. */
  principalKey(principal: string): string {
    return this.index.key(principal)
  }

  async load(id: string): Promise<SessionRecord | undefined> {
    return this.deadlines.run('load', async () => {
      const now = Date.now()
      // With `legacy`, a connect-redis record is the session while it exists: a move writes the
      // new record before it drops the old one, and the drop is its commit point (migration.ts).
      if (this.legacy) return this.legacy.load(id, now)
      const hash = await this.client.hgetall(this.key(id)).catch((err: unknown) => {
        if (isWrongType(err)) {
          throw new SessionError('CORRUPT_RECORD', 'redis key for a session is not a hash', { cause: err })
        }
        throw err
      })
      return Object.keys(hash).length > 0 ? parseRecord(id, hash, now) : undefined
    })
  }

  /**
   * A write's deadline in Redis' clock (`commandTimeoutMs` after the operation started, less a
   * margin), and until when an 'accept' write waits for its replica.
   */
  private async budget(started: number): Promise<WriteBudget> {
    const margin = Math.min(LATE_MARGIN_MS, this.commandTimeoutMs / 4)
    return {
      deadline: Math.floor(await this.clock.toServer(started + this.commandTimeoutMs - margin)),
      until: started + this.timeoutMs - margin,
    }
  }

  async save(change: SessionChange): Promise<SaveResult> {
    const started = performance.now()
    const deadline = started + this.timeoutMs - ROTATION_MARGIN_MS
    const progress = { committing: false }
    let rotation: Promise<SaveResult> | undefined
    return this.deadlines
      .run('save', async () => {
        const kept = this.kept && (await this.kept.save(change, Date.now()))
        if (kept) return kept
        if (change.previousId !== undefined && change.previousId !== change.id) {
          // Tracked: a rotation goes on past its answer until its outcome is known (rotation.ts).
          const budget = await this.budget(started)
          rotation = this.resolutions.track(rotate(this.rotation, change, deadline, budget, progress))
          return rotation
        }
        return this.saveRecord(change, started)
      })
      .catch((err: unknown) => {
        // The bound passed (an event loop running late) while a copy of the take was in
        // flight: the rotation answers at its own deadline, which has passed too, and only its
        // answer is true (`saved` when the take may still land).
        if (rotation && progress.committing) return rotation
        throw err
      })
  }

  /** A save that is not a rotation: one script, then the index once the outcome is `saved`. */
  private async saveRecord(change: SessionChange, started: number): Promise<SaveResult> {
    const now = Date.now()
    const key = this.key(change.id)
    const args = change.isNew
      ? createArgs(now, change.meta, change.set)
      : updateArgs(now, change.meta, change.set, change.removed)
    const budget = await this.budget(started)
    const [result, before, principal, expiresAt] = checked(
      await this.writes.script<Reply>(
        key,
        (c, guard) => c.sessionkitSave(key, [...guard, ...args]),
        budget,
        (r) => r[0] === 'saved',
      ),
      'save',
    )
    if (result === 'saved') {
      // Saved whatever the index does: on Cluster it may live on another shard (principal-index.ts).
      await this.index.follow(change.id, before!, principal!, Number(expiresAt), budget.until)
      return 'saved'
    }
    if (result === 'gone' && this.legacy && !change.isNew) return this.legacy.migrate(change.id, change, now)
    return result as SaveResult
  }

  async touch(id: string, meta: SessionTouch): Promise<boolean> {
    const started = performance.now()
    return this.deadlines.run('touch', async () => {
      const now = Date.now()
      const kept = this.kept && (await this.kept.touch(id, meta, now))
      if (kept !== undefined) return kept
      const key = this.key(id)
      const args = touchArgs(now, meta)
      const budget = await this.budget(started)
      const [ok, principal, expiresAt] = checked(
        await this.writes.script<Reply>(
          key,
          (c, guard) => c.sessionkitTouch(key, [...guard, ...args]),
          budget,
          (r) => Number(r[0]) === 1,
        ),
        'touch',
      )
      if (Number(ok) === 1) {
        if (principal) await this.index.follow(id, '', principal, Number(expiresAt), budget.until)
        return true
      }
      if (!this.legacy) return false
      // Only the two times: a touch never writes owner or idle timeout, whatever `meta` carries.
      const times = { createdAt: now, lastAccessedAt: meta.lastAccessedAt, expiresAt: meta.expiresAt }
      const change = { meta: times, set: {}, removed: [] }
      return (await this.legacy.migrate(id, change, now)) === 'saved'
    })
  }

  async delete(id: string): Promise<void> {
    const started = performance.now()
    return this.deadlines.run('delete', async () => {
      const budget = await this.budget(started)
      const until = budget.until
      const key = this.key(id)
      const legacyKey = this.legacy?.legacyKey(id)
      const [principal] = await Promise.all([
        this.writes.script<string | null>(key, (c, guard) => c.sessionkitDelete(key, ...guard), budget),
        legacyKey === undefined ? undefined : this.writes.send(legacyKey, (c) => c.del(legacyKey)),
      ])
      // The record is gone: the logout is done whatever its index entry does (repaired later).
      if (principal) await this.index.follow(id, principal, '', 0, until)
    })
  }

  /**
   * Closes the connection the store opened for its writes with `waitForReplicas` (also closed
   * when your client ends). Your client stays open: the store never closes it.
   */
  async close(): Promise<void> {
    this.writes.close()
  }

  /**
   * Resolves once every rotation this store answered has finished its work in the background:
   * a take whose answer was lost is sent again until one copy answers (at most a minute), and
   * what a rotation that did not commit wrote is deleted. Meant for tests and graceful
   * shutdown; requests never need it.
   */
  settled(): Promise<void> {
    return this.resolutions.settled()
  }

  async findByPrincipal(principal: string): Promise<SessionRecord[]> {
    return this.deadlines.run('findByPrincipal', async () => {
      const ids = await this.index.ids(principal, Date.now())
      // Separate commands, not one pipeline: in Cluster the sessions live in different slots.
      const records = await Promise.all(ids.map((id) => this.readIndexed(id)))
      return records.filter((r): r is SessionRecord => r !== undefined && r.principal === principal)
    })
  }

  /** A record listed in an index; one that is not a readable record is left out, not an error. */
  private async readIndexed(id: string): Promise<SessionRecord | undefined> {
    const hash = await this.client.hgetall(this.key(id)).catch((err: unknown) => {
      if (isWrongType(err)) return {}
      throw err
    })
    if (Object.keys(hash).length === 0) return undefined
    try {
      return parseRecord(id, hash, Date.now())
    } catch (err) {
      if (isSessionError(err, 'CORRUPT_RECORD')) return undefined
      throw err
    }
  }
}
