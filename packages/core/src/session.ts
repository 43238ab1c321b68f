import { assertPrincipal } from './ids'

/** Internal state shared with the repository; not part of the public API. */
export const STATE: unique symbol = Symbol('sessionkit.session.state')

export interface SessionState {
  /** The id under which the record exists in the store; undefined while never saved. */
  storedId: string | undefined
  /** Encodings of the attributes as loaded or last saved. */
  loaded: Map<string, string>
  /** Principal as loaded or last saved. */
  storedPrincipal: string | undefined
  storedMaxInactiveMs: number
  /** A stored id that must be deleted at commit (after `regenerate`). */
  pendingDelete: string | undefined
  destroyed: boolean
  newId: () => string
  /**
   * Attributes stored besides `data`, overriding same-named keys (the lifecycle's cookie
   * settings): the app's data object is encoded as it is, never copied to add them.
   */
  extra?: Record<string, unknown> | undefined
  /** A commit's diff, computed once for its decision and its write (see `holdDiff`). */
  heldDiff?: AttributeDiff | undefined
}

/** What a save would write: changed encodings, removed names, and how many attributes are stored. */
export interface AttributeDiff {
  set: Record<string, string>
  removed: string[]
  count: number
}

/** Fields a repository passes when it makes a {@link Session}. */
export interface SessionInit<Data> {
  id: string
  createdAt: number
  lastAccessedAt: number
  maxInactiveMs: number
  absoluteTimeoutMs: number | undefined
  principal: string | undefined
  data: Data
  storedId: string | undefined
  loaded: Map<string, string>
  requestedId: string | undefined
  newId: () => string
}

/**
 * One user's session for the length of a request. Attributes live on `data`; every other
 * change (`changeId`, `regenerate`, `destroy`, `setPrincipal`) takes effect in the store when
 * the repository commits the session.
 *
 * @example
 * ```ts
 * const session = await repository.load(id) ?? repository.create()
 * session.data.cart = { items: [] }
 * session.changeId() // at login, against session fixation
 * session.setPrincipal('alice')
 * await repository.save(session)
 * ```
 */
export class Session<Data extends object = Record<string, unknown>> {
  /** The live attributes. Nested mutation is caught at commit by comparing encodings. */
  data: Data
  readonly createdAt: number
  /** Epoch ms of the last save or touch. */
  lastAccessedAt: number
  /** Idle timeout of this session in ms. */
  maxInactiveMs: number
  /** The id the request presented, if any (also when it was unknown or expired). */
  readonly requestedId: string | undefined
  readonly absoluteTimeoutMs: number | undefined
  #id: string
  #principal: string | undefined
  /** @internal */
  readonly [STATE]: SessionState

  constructor(init: SessionInit<Data>) {
    this.#id = init.id
    this.createdAt = init.createdAt
    this.lastAccessedAt = init.lastAccessedAt
    this.maxInactiveMs = init.maxInactiveMs
    this.absoluteTimeoutMs = init.absoluteTimeoutMs
    this.#principal = init.principal
    this.data = init.data
    this.requestedId = init.requestedId
    this[STATE] = {
      storedId: init.storedId,
      loaded: init.loaded,
      storedPrincipal: init.principal,
      storedMaxInactiveMs: init.maxInactiveMs,
      pendingDelete: undefined,
      destroyed: false,
      newId: init.newId,
    }
  }

  get id(): string {
    return this.#id
  }

  /** The id under which the session exists in the store; `undefined` until saved. */
  get storedId(): string | undefined {
    return this[STATE].storedId
  }

  /** True until the session has been saved once. */
  get isNew(): boolean {
    return this[STATE].storedId === undefined
  }

  get isDestroyed(): boolean {
    return this[STATE].destroyed
  }

  get principal(): string | undefined {
    return this.#principal
  }

  /** Epoch ms after which the session is gone: idle timeout, capped by the absolute timeout. */
  get expiresAt(): number {
    const idle = this.lastAccessedAt + this.maxInactiveMs
    return this.absoluteTimeoutMs === undefined
      ? idle
      : Math.min(idle, this.createdAt + this.absoluteTimeoutMs)
  }

  /**
   * New id, same data: call it at login, against session fixation. The old id stops working.
   * `id` lets a binding supply an id from its own generator (express-session's `genid`).
   */
  changeId(id?: string): string {
    this.#id = id ?? this[STATE].newId()
    return this.#id
  }

  /** New id and empty data, as express-session's `regenerate`. The old record is deleted. */
  regenerate(id?: string): string {
    const state = this[STATE]
    if (state.storedId !== undefined) state.pendingDelete = state.storedId
    state.storedId = undefined
    state.loaded = new Map()
    state.storedPrincipal = undefined
    this.#principal = undefined
    this.data = {} as Data
    return this.changeId(id)
  }

  /** Deletes the session at commit; the cookie is cleared. */
  destroy(): void {
    this[STATE].destroyed = true
  }

  /** Names the owner of the session (e.g. a user id), so `findByPrincipal` finds it. */
  setPrincipal(principal: string | undefined): void {
    // Refused here, at the app's call, not at commit: a principal no store can index exactly
    // could never be found again by `destroyAllFor`.
    if (principal !== undefined) assertPrincipal(principal)
    this.#principal = principal
  }
}
