import { type Codec, jsonCodec } from './codec'
import { isSessionError, SessionError } from './errors'
import { SessionEmitter } from './events'
import { generateSessionId, isValidSessionId } from './ids'
import { type AttributeDiff as Diff, Session, STATE } from './session'
import type { SessionChange, SessionMetaChange, SessionRecord, SessionStore, SessionTouch } from './types'

/** Options of {@link SessionRepository}. */
export interface SessionRepositoryOptions {
  store: SessionStore
  /** Attribute codec; JSON by default. */
  codec?: Codec
  /** Idle timeout of new sessions in ms. Default: 1 day. */
  maxInactiveMs?: number
  /** Hard cap on a session's life from creation, whatever its activity. Default: none. */
  absoluteTimeoutMs?: number
  /**
   * An unchanged session's expiry is extended (one `touch`) at most this often: a
   * non-negative integer below `maxInactiveMs`, or `Infinity` for never (koa-session's rule).
   * Default: a tenth of the idle timeout, at most 60 s.
   */
  touchAfterMs?: number
  /** Encoded size (names + values, UTF-8) above which a save fails. Default: 1 MiB. */
  maxSizeBytes?: number
  generateId?: () => string
  validateId?: (id: string) => boolean
}

/** What a commit did. */
export type CommitResult =
  /** A new session was written. */
  | 'created'
  /** Changed attributes, metadata or id were written. */
  | 'saved'
  /** Nothing changed; expiry was extended. */
  | 'touched'
  /** Nothing changed and no touch was due: no round trip. */
  | 'unchanged'
  /** A new, unmodified session was not written (saveUninitialized off). */
  | 'skipped'
  /** The session was deleted. */
  | 'destroyed'
  /** The record was deleted or expired meanwhile (e.g. logout elsewhere); nothing was written. */
  | 'gone'

/** Options of one commit. */
export interface CommitOptions {
  /** Write a new session even when it holds no attributes. Default: false. */
  saveUninitialized?: boolean
  /**
   * Write even when nothing changed: creates a new empty session, touches an existing one
   * although no touch is due (an explicit `save()`, express-session's `resave`).
   */
  force?: boolean
}

interface Decoded {
  values: Record<string, unknown>
  encoded: Map<string, string>
}

const DAY = 86_400_000

/**
 * Sessions on top of one {@link SessionStore}: creation, loading with exact expiry and
 * corrupt-record tolerance, attribute-level change tracking, rotation and revocation. The
 * one place where session policy lives; bindings and stores call it.
 *
 * @example
 * ```ts
 * const repository = new SessionRepository({ store: new MemoryStore(), maxInactiveMs: 30 * 60_000 })
 * const session = repository.create()
 * session.data.userId = 42
 * await repository.save(session)
 * ```
 */
export class SessionRepository<Data extends object = Record<string, unknown>> extends SessionEmitter {
  readonly store: SessionStore
  readonly codec: Codec
  readonly maxInactiveMs: number
  readonly absoluteTimeoutMs: number | undefined
  readonly maxSizeBytes: number
  readonly #touchAfterMs: number | undefined
  readonly #generateId: () => string
  readonly #validateId: (id: string) => boolean

  constructor(options: SessionRepositoryOptions) {
    super()
    if (!options?.store) throw new SessionError('INVALID_OPTIONS', 'a store is required')
    this.store = options.store
    this.codec = options.codec ?? jsonCodec
    this.maxInactiveMs = positive(options.maxInactiveMs, DAY, 'maxInactiveMs')
    this.absoluteTimeoutMs =
      options.absoluteTimeoutMs === undefined
        ? undefined
        : positive(options.absoluteTimeoutMs, 0, 'absoluteTimeoutMs')
    this.maxSizeBytes = positive(options.maxSizeBytes, 1024 * 1024, 'maxSizeBytes')
    const touchAfter = options.touchAfterMs
    if (
      touchAfter !== undefined &&
      touchAfter !== Number.POSITIVE_INFINITY &&
      !(Number.isSafeInteger(touchAfter) && touchAfter >= 0 && touchAfter < this.maxInactiveMs)
    ) {
      // A touch interval at or past the idle timeout lets an active session expire between touches.
      throw new SessionError(
        'INVALID_OPTIONS',
        `touchAfterMs must be a non-negative integer below maxInactiveMs (${this.maxInactiveMs}) or Infinity, got ${touchAfter}`,
      )
    }
    this.#touchAfterMs = touchAfter
    this.#generateId = options.generateId ?? generateSessionId
    this.#validateId = options.validateId ?? isValidSessionId
  }

  /** True when `id` could be a session id; checked before any store round trip. */
  isValidId(id: unknown): id is string {
    return typeof id === 'string' && this.#validateId(id)
  }

  /**
   * A new, unsaved session. `requestedId` records an unknown id the client presented (it is
   * never adopted); `id` lets a binding supply an id from its own generator.
   */
  create(options: { requestedId?: string | undefined; id?: string | undefined } = {}): Session<Data> {
    // An id this repository would refuse to load would be a session that never comes back.
    if (options.id !== undefined && !this.isValidId(options.id)) {
      throw new SessionError('INVALID_ID', 'the id generator made an id that fails validateId')
    }
    const now = Date.now()
    return new Session<Data>({
      id: options.id ?? this.#generateId(),
      createdAt: now,
      lastAccessedAt: now,
      maxInactiveMs: this.maxInactiveMs,
      absoluteTimeoutMs: this.absoluteTimeoutMs,
      principal: undefined,
      data: {} as Data,
      storedId: undefined,
      loaded: new Map(),
      requestedId: options.requestedId,
      newId: this.#generateId,
    })
  }

  /**
   * The live session with this id, or `undefined` (malformed id, absent, expired, or a
   * record that cannot be decoded, which is reported as an `error` event). A store failure
   * rejects: a store outage must never look like a logout.
   */
  async load(id: string): Promise<Session<Data> | undefined> {
    if (!this.isValidId(id)) return undefined
    let record: SessionRecord | undefined
    try {
      record = await this.store.load(id)
    } catch (err) {
      if (isSessionError(err, 'CORRUPT_RECORD')) return this.#corrupt(id, err)
      throw storeError(err)
    }
    if (!record) return undefined
    if (record.id !== id)
      return this.#corrupt(id, new Error(`the store answered with the record of another id`))
    const data = this.#decode(id, record)
    if (!data) return undefined
    const session = this.#fromRecord(record, data, id)
    if (session.expiresAt <= Date.now() || record.expiresAt <= Date.now()) {
      this.emit('expired', id)
      return undefined
    }
    return session
  }

  /**
   * True when committing now would write attributes, principal or idle timeout. Bindings
   * whose peer leaves some state out of "modified" (express-session ignores the cookie) name
   * those attributes in `ignore` and set `ignoreTimeout`.
   */
  isModified(
    session: Session<Data>,
    options: { ignore?: readonly string[]; ignoreTimeout?: boolean } = {},
  ): boolean {
    const state = session[STATE]
    const diff = state.heldDiff ?? this.#diff(session)
    const ignored = (name: string) => options.ignore?.includes(name) ?? false
    if (Object.keys(diff.set).some((name) => !ignored(name))) return true
    if (state.storedId === undefined) return session.principal !== undefined
    return (
      diff.removed.some((name) => !ignored(name)) ||
      session.principal !== state.storedPrincipal ||
      (!options.ignoreTimeout && session.maxInactiveMs !== state.storedMaxInactiveMs)
    )
  }

  /**
   * @internal For one commit: encodes the attributes once, now, and answers that diff to
   * `isModified` and `save` until the returned function releases it. Encoding is the largest
   * part of a commit; the lifecycle decides and writes on the same data, so one is enough.
   */
  holdDiff(session: Session<Data>): () => void {
    const state = session[STATE]
    state.heldDiff = this.#diff(session)
    return () => {
      state.heldDiff = undefined
    }
  }

  /**
   * New id and empty data, with the old record deleted now rather than at commit (the
   * peers' `regenerate` calls back once the old session is gone).
   */
  async regenerate(session: Session<Data>, id?: string): Promise<void> {
    if (id !== undefined && !this.isValidId(id)) {
      throw new SessionError('INVALID_ID', 'the id generator made an id that fails validateId')
    }
    const old = session.storedId
    session.regenerate(id)
    if (old === undefined) return
    await this.delete(old)
    session[STATE].pendingDelete = undefined
  }

  /**
   * Writes what the request changed: nothing, a touch, the changed attributes only, a
   * rotation, a creation or a deletion. Never recreates a session deleted meanwhile.
   */
  async save(session: Session<Data>, options: CommitOptions = {}): Promise<CommitResult> {
    const state = session[STATE]
    if (state.pendingDelete !== undefined) {
      const old = state.pendingDelete
      await this.delete(old)
      state.pendingDelete = undefined
    }
    if (state.destroyed) {
      if (state.storedId !== undefined) await this.delete(state.storedId)
      state.storedId = undefined
      return 'destroyed'
    }
    const diff = state.heldDiff ?? this.#diff(session)
    const now = Date.now()

    if (state.storedId === undefined) {
      const empty = diff.encoded.size === 0 && session.principal === undefined
      if (empty && !options.saveUninitialized && !options.force) return 'skipped'
      return this.#create(session, diff, now)
    }

    const rotated = state.storedId !== session.id
    const modified =
      rotated ||
      Object.keys(diff.set).length > 0 ||
      diff.removed.length > 0 ||
      session.principal !== state.storedPrincipal ||
      session.maxInactiveMs !== state.storedMaxInactiveMs
    if (!modified) {
      const touchAfter = this.#touchAfterMs ?? Math.min(60_000, Math.floor(session.maxInactiveMs / 10))
      if (!options.force && now - session.lastAccessedAt < touchAfter) return 'unchanged'
      const touch: SessionTouch = { lastAccessedAt: now, expiresAt: this.#expiresAt(session, now) }
      const ok = await this.#call(() => this.store.touch(session.id, touch))
      if (!ok) return this.#gone(session)
      session.lastAccessedAt = now
      return 'touched'
    }

    const change: SessionChange = rotated
      ? {
          id: session.id,
          previousId: state.storedId,
          isNew: false,
          meta: this.#meta(session, now, 'whole'),
          set: Object.fromEntries(diff.encoded),
          removed: [],
        }
      : {
          id: session.id,
          isNew: false,
          meta: this.#meta(session, now, 'delta'),
          set: diff.set,
          removed: diff.removed,
        }
    const result = await this.#call(() => this.store.save(change))
    if (result !== 'saved') return this.#gone(session)
    this.#saved(session, diff, now)
    if (rotated) this.emit('idChanged', { previousId: change.previousId!, id: session.id })
    return 'saved'
  }

  /** Deletes a session by id; a missing id is a no-op. */
  async delete(id: string): Promise<void> {
    if (!this.isValidId(id)) return
    await this.#call(() => this.store.delete(id))
    this.emit('destroyed', id)
  }

  /** Live sessions of `principal` (needs a store with `capabilities.principalIndex`). */
  async findByPrincipal(principal: string): Promise<Session<Data>[]> {
    const records = await this.#recordsOf(principal)
    const now = Date.now()
    const sessions: Session<Data>[] = []
    for (const record of records) {
      const data = this.#decode(record.id, record)
      if (!data || record.expiresAt <= now) continue
      sessions.push(this.#fromRecord(record, data, undefined))
    }
    return sessions
  }

  /**
   * Logs `principal` out everywhere: deletes all its sessions, optionally keeping one (the
   * current device). Answers how many were deleted.
   *
   * @example
   * ```ts
   * await repository.destroyAllFor('alice', { except: req.sessionID }) // after a password change
   * ```
   */
  async destroyAllFor(principal: string, options: { except?: string } = {}): Promise<number> {
    // Records, not decoded sessions: one this codec cannot read (a codec change during a
    // rolling deploy) is still the principal's, and must not survive "log out everywhere".
    const records = await this.#recordsOf(principal)
    const doomed = records.filter((r) => r.id !== options.except)
    await Promise.all(doomed.map((r) => this.delete(r.id)))
    return doomed.length
  }

  async #recordsOf(principal: string): Promise<SessionRecord[]> {
    const find = this.store.findByPrincipal
    if (!this.store.capabilities.principalIndex || !find) {
      throw new SessionError(
        'NOT_SUPPORTED',
        'this store has no principal index (capabilities.principalIndex)',
      )
    }
    return this.#call(() => find.call(this.store, principal))
  }

  async #create(session: Session<Data>, diff: Diff, now: number): Promise<CommitResult> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = await this.#call(() =>
        this.store.save({
          id: session.id,
          isNew: true,
          meta: this.#meta(session, now, 'whole'),
          set: Object.fromEntries(diff.encoded),
          removed: [],
        }),
      )
      if (result === 'saved') {
        this.#saved(session, diff, now)
        this.emit('created', session.id)
        return 'created'
      }
      session.changeId()
    }
    throw new SessionError(
      'ID_COLLISION',
      'three new session ids in a row already existed: the id generator is broken',
    )
  }

  #fromRecord(record: SessionRecord, data: Decoded, requestedId: string | undefined): Session<Data> {
    return new Session<Data>({
      id: record.id,
      createdAt: record.createdAt,
      lastAccessedAt: record.lastAccessedAt,
      maxInactiveMs: record.maxInactiveMs,
      absoluteTimeoutMs: this.absoluteTimeoutMs,
      principal: record.principal,
      data: data.values as Data,
      storedId: record.id,
      loaded: data.encoded,
      requestedId,
      newId: this.#generateId,
    })
  }

  #gone(session: Session<Data>): CommitResult {
    session[STATE].storedId = undefined
    session[STATE].destroyed = true
    return 'gone'
  }

  #saved(session: Session<Data>, diff: Diff, now: number): void {
    const state = session[STATE]
    state.storedId = session.id
    state.loaded = diff.encoded
    state.storedPrincipal = session.principal
    state.storedMaxInactiveMs = session.maxInactiveMs
    session.lastAccessedAt = now
  }

  /**
   * The metadata of one save: whole for a create or rotation, else a delta naming owner and
   * idle timeout only when this request changed them, so a stale writer cannot undo them.
   */
  #meta(session: Session<Data>, now: number, kind: 'whole' | 'delta'): SessionMetaChange {
    const state = session[STATE]
    const meta: SessionMetaChange = {
      createdAt: session.createdAt,
      lastAccessedAt: now,
      expiresAt: this.#expiresAt(session, now),
    }
    if (kind === 'whole' || session.maxInactiveMs !== state.storedMaxInactiveMs)
      meta.maxInactiveMs = session.maxInactiveMs
    if (kind === 'whole' || session.principal !== state.storedPrincipal)
      meta.principal = session.principal ?? null
    return meta
  }

  /**
   * The session's expiry if saved at `now`. The idle timeout may have been set by app code
   * (a cookie's maxAge): it is checked here, before anything is written, because a store
   * keeps integer milliseconds and a key without a sane TTL would live forever.
   */
  #expiresAt(session: Session<Data>, now: number): number {
    const idle = session.maxInactiveMs
    if (!(Number.isFinite(idle) && idle > 0 && Number.isSafeInteger(Math.round(now + idle)))) {
      throw new SessionError(
        'INVALID_OPTIONS',
        `the session's idle timeout must be a positive, finite number of ms, got ${idle}`,
      )
    }
    // Stores keep integer milliseconds; a fractional timeout (3_600_000 / 7) is rounded once, here.
    if (!Number.isInteger(idle)) session.maxInactiveMs = Math.round(idle)
    const expiresAt = now + session.maxInactiveMs
    return this.absoluteTimeoutMs === undefined
      ? expiresAt
      : Math.min(expiresAt, session.createdAt + this.absoluteTimeoutMs)
  }

  /** Encodes every top-level attribute and compares it with what was loaded. */
  #diff(session: Session<Data>): Diff {
    const { loaded, extra } = session[STATE]
    const data = session.data as Record<string, unknown>
    const set: Record<string, string> = {}
    const encoded = new Map<string, string>()
    let chars = 0
    const add = (name: string, value: unknown) => {
      const text = this.codec.encode(value)
      if (text === undefined) return
      encoded.set(name, text)
      chars += name.length + text.length
      if (loaded.get(name) !== text) {
        this.#assertReadable(name, text)
        set[name] = text
      }
    }
    for (const name of Object.keys(data)) if (!extra || !Object.hasOwn(extra, name)) add(name, data[name])
    if (extra) for (const name of Object.keys(extra)) add(name, extra[name])
    const removed: string[] = []
    for (const name of loaded.keys()) if (!encoded.has(name)) removed.push(name)
    // UTF-8 needs at most 3 bytes per UTF-16 unit: count exactly only near the limit.
    if (chars * 3 > this.maxSizeBytes) {
      let bytes = 0
      for (const [name, text] of encoded) bytes += Buffer.byteLength(name) + Buffer.byteLength(text)
      if (bytes > this.maxSizeBytes) {
        throw new SessionError(
          'SESSION_TOO_LARGE',
          `session ${session.id.slice(0, 6)}… encodes to ${bytes} bytes, over maxSizeBytes (${this.maxSizeBytes})`,
        )
      }
    }
    return { set, removed, encoded }
  }

  /**
   * What is saved must load: a value the codec writes but cannot read back would lose the
   * whole session as CORRUPT_RECORD on the next request, so it is refused at save. The JSON
   * codec reads back everything it writes; a custom codec is checked here, per changed value.
   */
  #assertReadable(name: string, text: string): void {
    if (this.codec === jsonCodec) return
    try {
      this.codec.decode(text)
    } catch (err) {
      throw new SessionError(
        'ENCODE_FAILED',
        `session attribute ${JSON.stringify(name.slice(0, 40))} encodes to text the codec cannot read back: ${(err as Error)?.message}`,
        { cause: err },
      )
    }
  }

  #decode(
    id: string,
    record: SessionRecord,
  ): { values: Record<string, unknown>; encoded: Map<string, string> } | undefined {
    try {
      if (
        !Number.isFinite(record.createdAt) ||
        !Number.isFinite(record.lastAccessedAt) ||
        !Number.isFinite(record.maxInactiveMs) ||
        !Number.isFinite(record.expiresAt) ||
        typeof record.attributes !== 'object' ||
        record.attributes === null
      ) {
        throw new Error('metadata is missing or not numeric')
      }
      const values: Record<string, unknown> = {}
      const encoded = new Map<string, string>()
      for (const [name, text] of Object.entries(record.attributes)) {
        if (typeof text !== 'string') throw new Error(`attribute ${JSON.stringify(name)} is not a string`)
        // Never a value (it would set the prototype), but still "loaded": the next save removes it.
        if (name !== '__proto__') values[name] = this.codec.decode(text)
        encoded.set(name, text)
      }
      return { values, encoded }
    } catch (err) {
      return this.#corrupt(id, err)
    }
  }

  #corrupt(id: string, err: unknown): undefined {
    const error = isSessionError(err)
      ? err
      : new SessionError(
          'CORRUPT_RECORD',
          `session ${id.slice(0, 6)}… cannot be decoded: ${(err as Error)?.message}`,
          {
            cause: err,
          },
        )
    this.emit('error', error)
    return undefined
  }

  async #call<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op()
    } catch (err) {
      throw storeError(err)
    }
  }
}

function storeError(err: unknown): SessionError {
  if (isSessionError(err)) return err
  return new SessionError('STORE_ERROR', `session store failed: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
  })
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  // Integers: every store keeps milliseconds as integers, and Redis refuses anything else.
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new SessionError('INVALID_OPTIONS', `${name} must be a positive integer, got ${value}`)
  }
  return value
}
