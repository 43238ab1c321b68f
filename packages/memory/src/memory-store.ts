import { EventEmitter } from 'node:events'
import {
  createdMeta,
  mergeMeta,
  type SaveResult,
  type SessionChange,
  SessionError,
  type SessionMeta,
  type SessionRecord,
  type SessionStore,
  type SessionTouch,
  type StoreCapabilities,
  touchedMeta,
} from '@sessionkit/core'
import { EvictionOrder, Tier } from './eviction'
import { ExpiryHeap } from './heap'
import { type CopyOptions, type CopyReport, copySessions, writeDump } from './move'

/**
 * Options of {@link MemoryStore}.
 *
 * @example
 * ```ts
 * const options: MemoryStoreOptions = { maxSessions: 50_000, sweepIntervalMs: 30_000 }
 * ```
 */
export interface MemoryStoreOptions {
  /**
   * Records kept at most; beyond it one is evicted, in this order: expired sessions; sessions no
   * request used after the one that created them, those holding nothing but cookie settings
   * first (what cookie-less requests leave with `saveUninitialized: true`); sessions a later
   * request used, least recently used first; sessions with a principal last. Default 10 000.
   */
  maxSessions?: number
  /** How often expired records are dropped. Default 60 000 ms. */
  sweepIntervalMs?: number
}

/**
 * What an `evicted` listener receives.
 *
 * @example
 * ```ts
 * store.on('evicted', ({ id, principal }) => { if (principal) metrics.increment('sessions.evicted.owned') })
 * ```
 */
export interface EvictedSession {
  id: string
  /** The owner, when the store had to evict a session with a principal (every kept session had one). */
  principal: string | undefined
}

/** Events of {@link MemoryStore}. */
export interface MemoryStoreEvents {
  /** A live session was dropped to stay within `maxSessions` (never emitted for expiry). */
  evicted: [EvictedSession]
}

interface Entry {
  id: string
  meta: SessionMeta
  expiresAt: number
  heapIndex: number
  tier: Tier
  /** A request other than the creating one used it: loaded, saved or touched it since. */
  returned: boolean
  /** A Map, not an object: attribute names like `__proto__` must stay plain data. */
  attributes: Map<string, string>
}

/**
 * The in-process session store: bounded (sessions created by one request and never used again
 * are evicted first, then the least recently used ones, those with a principal last, with an
 * `evicted` event), expiring
 * (exactly, plus a periodic sweep that costs only what expired), with a principal index.
 * For one process only: sessions vanish on restart and are invisible to other processes.
 *
 * @example
 * ```ts
 * import { MemoryStore } from '@sessionkit/memory'
 *
 * const store = new MemoryStore({ maxSessions: 1_000 })
 * await store.save({ id, isNew: true, meta, set: { user: '"ada"' }, removed: [] })
 * const record = await store.load(id)
 * await store.close()
 * ```
 */
export class MemoryStore extends EventEmitter<MemoryStoreEvents> implements SessionStore {
  readonly capabilities: StoreCapabilities = Object.freeze({ principalIndex: true, shared: false })

  private readonly records = new Map<string, Entry>()
  /**
   * Recency per eviction tier (./eviction.ts): a flood of cookie-less requests (the peers'
   * default saveUninitialized) creates sessions no request uses again, and those evict each
   * other, not the sessions of clients that came back, with or without a principal.
   */
  private readonly order = new EvictionOrder<Entry>()
  private readonly byPrincipal = new Map<string, Set<string>>()
  private readonly expiry = new ExpiryHeap<Entry>()
  private readonly maxSessions: number
  private timer: NodeJS.Timeout | undefined

  constructor(options: MemoryStoreOptions = {}) {
    super()
    const { maxSessions = 10_000, sweepIntervalMs = 60_000 } = options
    if (!Number.isInteger(maxSessions) || maxSessions < 1) {
      throw new SessionError('INVALID_OPTIONS', `maxSessions must be a positive integer, got ${maxSessions}`)
    }
    if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs <= 0) {
      throw new SessionError(
        'INVALID_OPTIONS',
        `sweepIntervalMs must be a positive number, got ${sweepIntervalMs}`,
      )
    }
    this.maxSessions = maxSessions
    // unref: a session store must never be the reason a process stays up.
    this.timer = setInterval(() => this.sweep(), sweepIntervalMs).unref()
  }

  /**
   * Records held, including expired ones the next sweep will drop.
   *
   * @example
   * ```ts
   * metrics.gauge('sessions', store.size)
   * ```
   */
  get size(): number {
    return this.records.size
  }

  /**
   * The live record, a copy, or `undefined`.
   *
   * @example
   * ```ts
   * const record = await store.load(id)
   * ```
   */
  async load(id: string): Promise<SessionRecord | undefined> {
    this.assertOpen()
    const entry = this.live(id)
    if (!entry) return undefined
    this.markUsed(entry)
    return toRecord(entry)
  }

  /**
   * The live record, a copy, or `undefined`, like {@link load}, without counting as a use of
   * the session: the eviction order stays as requests left it. For admin reads and
   * enumeration (a connect store's `all`), which must not make every session look visited.
   *
   * @example
   * ```ts
   * for (const id of store.ids()) report(await store.peek(id))
   * ```
   */
  async peek(id: string): Promise<SessionRecord | undefined> {
    this.assertOpen()
    const entry = this.live(id)
    return entry && toRecord(entry)
  }

  /**
   * Applies one request's change: create, merge, or rotate.
   *
   * @example
   * ```ts
   * const result = await store.save({ id, isNew: false, meta, set: { cart: '[]' }, removed: ['flash'] })
   * if (result === 'gone') startNewSession()
   * ```
   */
  async save(change: SessionChange): Promise<SaveResult> {
    this.assertOpen()
    const { id, previousId } = change
    if (previousId !== undefined && previousId !== id) {
      const previous = this.live(previousId)
      if (!previous) return 'gone'
      if (this.live(id)) return 'collision'
      this.drop(previous)
      // A rotation moves a session some earlier request made: it keeps its standing.
      this.insert(change, true)
      return 'saved'
    }
    const entry = this.live(id)
    if (change.isNew) {
      if (entry) return 'collision'
      this.insert(change, false)
      return 'saved'
    }
    if (!entry) return 'gone'
    for (const [name, value] of Object.entries(change.set)) entry.attributes.set(name, value)
    for (const name of change.removed) entry.attributes.delete(name)
    this.writeMeta(entry, mergeMeta(entry.meta, change.meta))
    this.markUsed(entry)
    return 'saved'
  }

  /**
   * Moves access time and expiry forward, nothing else; `false` when the session is gone.
   *
   * @example
   * ```ts
   * await store.touch(id, { lastAccessedAt: now, expiresAt: now + maxInactiveMs })
   * ```
   */
  async touch(id: string, meta: SessionTouch): Promise<boolean> {
    this.assertOpen()
    const entry = this.live(id)
    if (!entry) return false
    this.writeMeta(entry, touchedMeta(entry.meta, meta))
    this.markUsed(entry)
    return true
  }

  /**
   * Deletes the session and its index entry; a missing id is a no-op.
   *
   * @example
   * ```ts
   * await store.delete(id)
   * ```
   */
  async delete(id: string): Promise<void> {
    this.assertOpen()
    const entry = this.records.get(id)
    if (entry) this.drop(entry)
  }

  /**
   * Live sessions of `principal`, as copies.
   *
   * @example
   * ```ts
   * for (const s of await store.findByPrincipal('ada')) await store.delete(s.id)
   * ```
   */
  async findByPrincipal(principal: string): Promise<SessionRecord[]> {
    this.assertOpen()
    const ids = this.byPrincipal.get(principal)
    if (!ids) return []
    const found: SessionRecord[] = []
    for (const id of [...ids]) {
      const entry = this.live(id)
      if (entry) found.push(toRecord(entry))
    }
    return found
  }

  /**
   * The ids of the live sessions (expired ones are dropped on the way), in the order they were
   * created. For admin pages and connect-style `all` / `length`.
   *
   * @example
   * ```ts
   * for (const id of store.ids()) console.log(id, await store.peek(id))
   * ```
   */
  ids(): string[] {
    this.assertOpen()
    const ids: string[] = []
    for (const id of [...this.records.keys()]) if (this.live(id)) ids.push(id)
    return ids
  }

  /**
   * Copies of the live sessions, in the order they were created, without counting as a use of
   * them (like {@link peek}). What {@link drainTo} and {@link dump} carry.
   *
   * @example
   * ```ts
   * for (const record of store.exportSessions()) console.log(record.id, record.expiresAt)
   * ```
   */
  exportSessions(): SessionRecord[] {
    this.assertOpen()
    const records: SessionRecord[] = []
    for (const id of [...this.records.keys()]) {
      const entry = this.live(id)
      if (entry) records.push(toRecord(entry))
    }
    return records
  }

  /**
   * Creates every live session in `target` (a shared store: Redis, DynamoDB, PostgreSQL) with
   * the same id, data, principal and expiry; ids `target` already holds are left alone. For the
   * graceful shutdown of a server whose next version uses `target`: call it once the server has
   * stopped taking requests and finished those in flight (a later write here is not carried).
   * The store stays open; close it afterwards.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => server.close(async () => {
   *   await memoryStore.drainTo(new RedisStore({ client }))
   *   process.exit(0)
   * }))
   * ```
   */
  async drainTo(target: SessionStore, options: CopyOptions = {}): Promise<CopyReport> {
    return copySessions(this.exportSessions(), target, options)
  }

  /**
   * Writes every live session to the file `path` (mode 0600, written whole or not at all), for
   * `importSessions(path, target)` in the next version's first start: the route for a single
   * server, where the old process has ended before the new one starts. Answers how many
   * sessions it wrote.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => server.close(async () => {
   *   await memoryStore.dump('/var/lib/app/sessions.jsonl')
   *   process.exit(0)
   * }))
   * ```
   */
  async dump(path: string): Promise<number> {
    return writeDump(path, this.exportSessions())
  }

  /**
   * Deletes every session; the store stays open (unlike {@link close}).
   *
   * @example
   * ```ts
   * await store.clear() // e.g. between tests
   * ```
   */
  async clear(): Promise<void> {
    this.assertOpen()
    this.records.clear()
    this.order.clear()
    this.byPrincipal.clear()
    this.expiry.clear()
  }

  /**
   * Stops the sweep timer and drops every record; afterwards every operation rejects with
   * `STORE_UNAVAILABLE`. Calling it again is harmless.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', () => store.close())
   * ```
   */
  async close(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    this.records.clear()
    this.order.clear()
    this.byPrincipal.clear()
    this.expiry.clear()
  }

  private assertOpen(): void {
    if (this.timer === undefined) throw new SessionError('STORE_UNAVAILABLE', 'MemoryStore is closed')
  }

  /** Expiry is exact on every read, whatever the sweep interval. */
  private live(id: string): Entry | undefined {
    const entry = this.records.get(id)
    if (entry && entry.expiresAt <= Date.now()) {
      this.drop(entry)
      return undefined
    }
    return entry
  }

  private insert(change: SessionChange, returned: boolean): void {
    this.makeRoom()
    const meta = createdMeta(change.meta)
    const entry: Entry = {
      id: change.id,
      meta,
      expiresAt: meta.expiresAt,
      heapIndex: -1,
      tier: Tier.Empty,
      returned,
      attributes: new Map(Object.entries(change.set)),
    }
    for (const name of change.removed) entry.attributes.delete(name)
    this.records.set(entry.id, entry)
    this.order.place(entry, tierOf(entry))
    this.expiry.push(entry)
    this.index(entry, entry.meta.principal)
  }

  /**
   * `meta` is a fresh object (merged or created), never one a caller still holds. Every caller
   * then marks the entry used, which files it under its new principal.
   */
  private writeMeta(entry: Entry, meta: SessionMeta): void {
    const principal = entry.meta.principal
    entry.meta = meta
    entry.expiresAt = meta.expiresAt
    this.expiry.update(entry)
    if (principal !== meta.principal) {
      this.unindex(entry.id, principal)
      this.index(entry, meta.principal)
    }
  }

  /** Every load, save and touch of a kept session comes from a request after the creating one. */
  private markUsed(entry: Entry): void {
    entry.returned = true
    this.order.place(entry, tierOf(entry))
  }

  /**
   * Expired records go first, so eviction only ever costs a live session when the store is
   * full of them; then by tier (./eviction.ts), least recently used first within one.
   */
  private makeRoom(): void {
    this.sweep()
    while (this.records.size >= this.maxSessions) {
      const victim = this.order.victim()
      if (!victim) return
      this.drop(victim)
      this.emit('evicted', { id: victim.id, principal: victim.meta.principal })
    }
  }

  private sweep(): void {
    const now = Date.now()
    for (let next = this.expiry.peek(); next && next.expiresAt <= now; next = this.expiry.peek())
      this.drop(next)
  }

  private drop(entry: Entry): void {
    this.records.delete(entry.id)
    this.order.remove(entry)
    this.expiry.remove(entry)
    this.unindex(entry.id, entry.meta.principal)
  }

  private index(entry: Entry, principal: string | undefined): void {
    if (principal === undefined) return
    const ids = this.byPrincipal.get(principal) ?? new Set()
    ids.add(entry.id)
    this.byPrincipal.set(principal, ids)
  }

  private unindex(id: string, principal: string | undefined): void {
    if (principal === undefined) return
    const ids = this.byPrincipal.get(principal)
    if (!ids) return
    ids.delete(id)
    if (ids.size === 0) this.byPrincipal.delete(principal)
  }
}

/**
 * The attribute every binding writes with a session's cookie settings (docs/DESIGN.md, "Core
 * behaviour"): a session holding only this holds no data of the app's.
 */
const COOKIE_SETTINGS = 'cookie'

function tierOf(entry: Entry): Tier {
  if (entry.meta.principal !== undefined) return Tier.Owned
  if (entry.returned) return Tier.Returning
  const { attributes } = entry
  const holdsData = attributes.size > (attributes.has(COOKIE_SETTINGS) ? 1 : 0)
  return holdsData ? Tier.OneRequest : Tier.Empty
}

const OWN = { enumerable: true, writable: true, configurable: true }

function toRecord(entry: Entry): SessionRecord {
  const { principal, ...meta } = entry.meta
  // forEach, not fromEntries: no [name, text] pair allocated per attribute.
  const attributes: Record<string, string> = {}
  entry.attributes.forEach((text, name) => {
    // Defined, not assigned, so an attribute named `__proto__` stays an attribute.
    if (name === '__proto__') Object.defineProperty(attributes, name, { ...OWN, value: text })
    else attributes[name] = text
  })
  const record: SessionRecord = { id: entry.id, ...meta, attributes }
  if (principal !== undefined) record.principal = principal
  return record
}
