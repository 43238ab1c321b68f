import {
  diffAttributes,
  hasChanges,
  markGone,
  markSaved,
  newChange,
  sessionExpiresAt,
  storedChange,
} from './attribute-diff'
import { type Codec, jsonCodec } from './codec'
import { isSessionError, SessionError } from './errors'
import { SessionEmitter } from './events'
import { assertPrincipal } from './ids'
import { corruptRecordError, type DecodedAttributes, decodeRecord, sessionFromRecord } from './record-decode'
import {
  type CommitOptions,
  type CommitResult,
  repositorySettings,
  type SessionRepositoryOptions,
} from './repository-options'
import { isSealedStore } from './sealed/store'
import { type AttributeDiff as Diff, Session, STATE } from './session'
import { callStore, storeError } from './store-errors'
import type { SessionRecord, SessionStore, SessionTouch } from './types'

export type { CommitOptions, CommitResult, OptionNames, SessionRepositoryOptions } from './repository-options'

/** Lookups `destroyAllFor` makes before giving up on a principal whose sessions keep moving. */
const MAX_REVOCATION_ROUNDS = 20

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
    const settings = repositorySettings(options)
    this.maxInactiveMs = settings.maxInactiveMs
    this.absoluteTimeoutMs = settings.absoluteTimeoutMs
    this.maxSizeBytes = settings.maxSizeBytes
    this.#touchAfterMs = settings.touchAfterMs
    this.#generateId = settings.generateId
    this.#validateId = settings.validateId
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
    const session = sessionFromRecord<Data>(record, data, id, this.absoluteTimeoutMs, this.#generateId)
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
   * @internal True when {@link save} with these options would answer `'unchanged'` without a
   * store call: a stored session, same id, nothing changed, not forced, no touch due. Lets a
   * binding finish a request at once, as the peers end the response when they have nothing to save.
   */
  saveIsNoop(session: Session<Data>, options: CommitOptions = {}): boolean {
    const state = session[STATE]
    if (options.force || state.pendingDelete !== undefined || state.destroyed) return false
    if (state.storedId === undefined || state.storedId !== session.id) return false
    if (hasChanges(session, state.heldDiff ?? this.#diff(session))) return false
    return Date.now() - session.lastAccessedAt < this.#touchAfter(session)
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
      const empty = diff.count === 0 && session.principal === undefined
      if (empty && !options.saveUninitialized && !options.force) return 'skipped'
      return this.#create(session, diff, now)
    }

    const rotated = state.storedId !== session.id
    if (!rotated && !hasChanges(session, diff)) {
      if (!options.force && now - session.lastAccessedAt < this.#touchAfter(session)) return 'unchanged'
      const touch: SessionTouch = {
        lastAccessedAt: now,
        expiresAt: sessionExpiresAt(session, now, this.absoluteTimeoutMs),
      }
      const ok = await callStore(() => this.store.touch(session.id, touch))
      if (!ok) return markGone(session)
      session.lastAccessedAt = now
      return 'touched'
    }

    const change = storedChange(session, diff, now, this.absoluteTimeoutMs)
    const result = await callStore(() => this.store.save(change))
    if (result !== 'saved') return markGone(session)
    markSaved(session, diff, now)
    if (rotated) this.emit('idChanged', { previousId: change.previousId!, id: session.id })
    return 'saved'
  }

  /** Deletes a session by id; a missing id is a no-op. */
  async delete(id: string): Promise<void> {
    if (!this.isValidId(id)) return
    await callStore(() => this.store.delete(id))
    this.emit('destroyed', id)
  }

  /** Live sessions of `principal` (needs a store with `capabilities.principalIndex`). */
  async findByPrincipal(principal: string): Promise<Session<Data>[]> {
    assertPrincipal(principal)
    const records = await this.#recordsOf(principal)
    const now = Date.now()
    const sessions: Session<Data>[] = []
    for (const record of records) {
      const data = this.#decode(record.id, record)
      if (!data || record.expiresAt <= now) continue
      sessions.push(
        sessionFromRecord<Data>(record, data, undefined, this.absoluteTimeoutMs, this.#generateId),
      )
    }
    return sessions
  }

  /**
   * Logs `principal` out everywhere: deletes all its sessions, optionally keeping one (the
   * current device). Answers how many were deleted. When it resolves, no session the
   * principal had when it was called loads, under whatever id a concurrent rotation gave it.
   *
   * @example
   * ```ts
   * await repository.destroyAllFor('alice', { except: req.sessionID }) // after a password change
   * ```
   */
  async destroyAllFor(principal: string, options: { except?: string } = {}): Promise<number> {
    assertPrincipal(principal)
    // A rotation that commits between a lookup and its deletes moves a session to an id the
    // lookup never saw. Every store makes a rotated id findable no later than the rotation's
    // commit point (memory and DynamoDB move record and index entry at once; Redis indexes the
    // new id before it takes the old record), and a rotation whose old record was deleted
    // first answers `gone` and removes what it wrote. So a lookup after the deletes sees every
    // session that moved meanwhile: repeat until one finds nothing new. Only a rotation
    // committing inside each round's window adds a round; the bound stops a client that
    // rotates without pause from holding the call forever.
    const deleted = new Set<string>()
    // A session found again under a new id is the same session (a rotation keeps `createdAt`):
    // counted once.
    const counted = new Set<number>()
    let count = 0
    for (let round = 0; ; round++) {
      // Records, not decoded sessions: one this codec cannot read (a codec change during a
      // rolling deploy) is still the principal's and must not survive. Ids come from the
      // store, not a client, so they are deleted whatever this repository's id rule is.
      const records = await this.#recordsOf(principal)
      const doomed = records.filter((r) => r.id !== options.except && !deleted.has(r.id))
      if (doomed.length === 0) return count
      if (round === MAX_REVOCATION_ROUNDS) {
        throw new SessionError(
          'STORE_ERROR',
          `destroyAllFor: sessions of the principal kept moving to new ids through ${round} lookups (${count} deleted); call it again`,
        )
      }
      const moved = round > 0 ? new Set(counted) : undefined
      for (const record of doomed) {
        if (!moved?.has(record.createdAt)) count++
        counted.add(record.createdAt)
      }
      await Promise.all(
        doomed.map(async (record) => {
          await callStore(() => this.store.delete(record.id))
          deleted.add(record.id)
          this.emit('destroyed', record.id)
        }),
      )
    }
  }

  async #recordsOf(principal: string): Promise<SessionRecord[]> {
    const find = this.store.findByPrincipal
    if (isSealedStore(this.store)) {
      throw new SessionError(
        'NOT_SUPPORTED',
        'sealed-cookie sessions keep no server state, so there is nothing to look up or revoke: a copied cookie opens until it expires. Use a server-side store where revokeAll, destroyAllFor or findByPrincipal is needed',
      )
    }
    if (!this.store.capabilities.principalIndex || !find) {
      throw new SessionError(
        'NOT_SUPPORTED',
        'this store has no principal index (capabilities.principalIndex), which revokeAll, destroyAllFor and findByPrincipal need: use a store that has one (MemoryStore, RedisStore, DynamoDBStore, PostgresStore), or keep your own principal-to-session-ids index and destroy those ids',
      )
    }
    return callStore(() => find.call(this.store, principal))
  }

  async #create(session: Session<Data>, diff: Diff, now: number): Promise<CommitResult> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = await callStore(() =>
        this.store.save(newChange(session, diff, now, this.absoluteTimeoutMs)),
      )
      if (result === 'saved') {
        markSaved(session, diff, now)
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

  #touchAfter(session: Session<Data>): number {
    return this.#touchAfterMs ?? Math.min(60_000, Math.floor(session.maxInactiveMs / 10))
  }

  #diff(session: Session<Data>): Diff {
    return diffAttributes(session, this.codec, this.maxSizeBytes)
  }

  #decode(id: string, record: SessionRecord): DecodedAttributes | undefined {
    try {
      return decodeRecord(this.codec, record)
    } catch (err) {
      return this.#corrupt(id, err)
    }
  }

  #corrupt(id: string, err: unknown): undefined {
    this.emit('error', corruptRecordError(id, err))
    return undefined
  }
}
