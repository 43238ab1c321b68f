import { EventEmitter } from 'node:events'
import {
  type CallbackStore,
  connectFace,
  reportToConnectCallback,
  type SessionRecord,
  type SessionStore,
  type SessionTouch,
} from '@sessionkit/core'
import { MemoryStore as SessionkitMemoryStore } from '@sessionkit/memory'
import { Cookie, type CookieOptions } from './cookie'
import type { SessionData } from './index'
import { Session, type SessionRequest } from './session'

type Callback<T = void> = (err?: any, value?: T) => void

/**
 * express-session's `Store` base class as @types/express-session declares it, so a connect store
 * written against those types (connect-redis, …) compiles with its `extends` pointing here,
 * with or without `override` on what it implements: an EventEmitter with `regenerate`, `load`
 * and `createSession`; a subclass implements `get`, `set` and `destroy`, optionally `touch`,
 * `all`, `length` and `clear`. Types only: the value is the ES5 constructor below.
 */
declare abstract class AbstractStore extends EventEmitter {
  constructor(options?: any)
  /** Set by express-session's middleware on its store; called by `regenerate` when present. */
  generate?(req: any): void
  /** Destroys the request's session, then gives it a new one (`generate`). */
  regenerate(req: any, callback: (err?: any) => any): void
  /** `get`, then `createSession` on a request-less stub: the session, or nothing. */
  load(sid: string, callback: (err: any, session?: Session & SessionData) => any): void
  /** Makes `session` (stored data) the request's `req.session`. */
  createSession(req: any, session: SessionData): Session & SessionData
  /**
   * The stored session, `null` or `undefined` when there is none. (`any`, not the peer's
   * `SessionData`: a store that types its callback its own way, `unknown` included, compiles.)
   */
  abstract get(sid: string, callback: (err: any, session?: any) => void): void
  /** Stores the session under `sid`. */
  abstract set(sid: string, session: SessionData, callback?: (err?: any) => void): void
  /** Deletes the session. */
  abstract destroy(sid: string, callback?: (err?: any) => void): void
  /** Every session, as an array or `{ [sid]: session }`. */
  all?(callback: (err: any, obj?: SessionData[] | { [sid: string]: SessionData } | null) => void): void
  /** How many sessions there are. */
  length?(callback: (err: any, length?: number) => void): void
  /** Deletes every session. */
  clear?(callback?: (err?: any) => void): void
  /** Resets the session's idle timer without rewriting it. */
  touch?(sid: string, session: SessionData, callback?: () => void): void
}

/** A connect store: what `extends Store` makes, what the `store` option and `req.sessionStore` take. */
export type Store = AbstractStore

/**
 * What `req.sessionStore` is: a `Store` with the connect methods (the store the app passed, or
 * a connect face over a sessionkit store). `all`, `length` and `clear` exist where the store
 * can enumerate.
 */
export interface ConnectStore<Data = Record<string, any>> extends Omit<Store, ConnectMethod> {
  get(sid: string, callback: (err: any, session?: Data | null) => void): void
  set(sid: string, session: Data, callback?: (err?: any) => void): void
  destroy(sid: string, callback?: (err?: any) => void): void
  touch?(sid: string, session: Data, callback?: (err?: any) => void): void
  all?(callback: (err: any, sessions?: Data[] | { [sid: string]: Data } | null) => void): void
  length?(callback: (err: any, length?: number) => void): void
  clear?(callback?: (err?: any) => void): void
}

type ConnectMethod = 'get' | 'set' | 'destroy' | 'touch' | 'all' | 'length' | 'clear'

/** `Store` as a value: an abstract class to `extends`, also callable the ES5 way (`Store.call(this)`). */
export type StoreConstructor = typeof AbstractStore & ((this: Store, options?: unknown) => void)

// An ES5 constructor on purpose: older stores do `Store.call(this, options)`, which a class forbids.
function StoreBase(this: Store): void {
  EventEmitter.call(this)
}
Object.setPrototypeOf(StoreBase.prototype, EventEmitter.prototype)
Object.setPrototypeOf(StoreBase, EventEmitter)

const proto = StoreBase.prototype as Store
const method = (name: string, fn: Function) =>
  Object.defineProperty(proto, name, { value: fn, writable: true, configurable: true, enumerable: false })

method('regenerate', function regenerate(this: Store, req: SessionRequest, callback: Callback) {
  this.destroy(req.sessionID as string, (err?: unknown) => {
    this.generate?.(req)
    callback(err)
  })
})

method('load', function load(this: Store, sid: string, callback: Callback<Session | undefined>) {
  this.get(sid, (err?: unknown, data?: any) => {
    if (err) return callback(err)
    if (!data) return callback()
    callback(null, this.createSession({ sessionID: sid, sessionStore: this }, data))
  })
})

method('createSession', function createSession(req: SessionRequest, data: any): Session {
  const expires = data.cookie?.expires
  const originalMaxAge = data.cookie?.originalMaxAge
  data.cookie = new Cookie(data.cookie as CookieOptions)
  if (typeof expires === 'string') data.cookie.expires = new Date(expires)
  data.cookie.originalMaxAge = originalMaxAge
  const session = new Session(req, data)
  req.session = session
  return session
})

/**
 * express-session's Store base class, for connect-style stores to extend.
 *
 * @example
 * ```ts
 * import { Store } from '@sessionkit/express'
 * class MyStore extends Store {
 *   get(sid, cb) { … } set(sid, session, cb) { … } destroy(sid, cb) { … }
 * }
 * app.use(session({ secret, store: new MyStore(), resave: false, saveUninitialized: false }))
 * ```
 */
export const Store = StoreBase as unknown as StoreConstructor

/**
 * The in-process store: a sessionkit store (attribute-level saves, expiry sweeping, bounded
 * size, principal index) that is also a connect store, as express-session's MemoryStore is:
 * an EventEmitter with callback (or promise) `get`, `set`, `destroy`, `touch`, `all`,
 * `length`, `clear`, and `Store`'s `regenerate`, `load`, `createSession`. The middleware uses
 * the sessionkit side, unless the app replaced `get`, `set`, `destroy` or `touch` on the
 * instance: then those are the functions called.
 *
 * @example
 * ```ts
 * const store = new session.MemoryStore({ maxSessions: 50_000 })
 * app.use(session({ secret, store }))
 * store.length((err, n) => console.log(n, 'sessions'))
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface below declares what its prototype gets from Store
export class MemoryStore extends SessionkitMemoryStore {
  readonly #face = connectFace(spiOf(this))
  /** Reads that are no use of the session (`all`): the eviction order stays as requests left it. */
  readonly #peekFace = connectFace({
    ...spiOf(this),
    load: (id) => SessionkitMemoryStore.prototype.peek.call(this, id),
  })

  get(sid: string, callback?: Callback<any>): Promise<Record<string, unknown> | null> {
    return this.#face.get(sid, callback)
  }

  set(sid: string, session: Record<string, any>, callback?: Callback): Promise<void> {
    return this.#face.set(sid, session, callback)
  }

  destroy(sid: string, callback?: Callback): Promise<void> {
    return this.#face.destroy(sid, callback)
  }

  override touch(sid: string, session: Record<string, any> | SessionTouch, callback?: Callback): any {
    // The SPI's touch(id, { lastAccessedAt, expiresAt }) and the connect touch(sid, session, cb).
    if (!('cookie' in session) && 'expiresAt' in session) return super.touch(sid, session as SessionTouch)
    return this.#face.touch(sid, session as Record<string, unknown>, callback)
  }

  /**
   * The SPI's `load(id)` (a record), or with a callback `Store`'s `load(sid, cb)` (a Session
   * on a request-less stub), as express-session's MemoryStore inherits it.
   */
  override load(id: string): Promise<SessionRecord | undefined>
  override load(sid: string, callback: (err: any, session?: Session & SessionData) => any): void
  override load(id: string, callback?: (err: any, session?: Session & SessionData) => any): any {
    if (typeof callback !== 'function') return super.load(id)
    ;(StoreBase.prototype as unknown as { load: Function }).load.call(this, id, callback)
  }

  /** Every live session, as express-session's MemoryStore gives them: `{ [sid]: session }`. */
  all(callback?: Callback<Record<string, any>>): Promise<Record<string, Record<string, unknown>>> {
    const work = (async () => {
      const out: Record<string, Record<string, unknown>> = {}
      for (const id of this.ids()) {
        const session = await this.#peekFace.get(id)
        if (session) out[id] = session
      }
      return out
    })()
    return reportToConnectCallback(work, callback)
  }

  /** How many live sessions there are (counted without reading them). */
  length(callback?: Callback<number>): Promise<number> {
    return reportToConnectCallback((async () => this.ids().length)(), callback)
  }

  /** Deletes every session. */
  override clear(callback?: Callback): Promise<void> {
    return reportToConnectCallback(super.clear(), callback)
  }
}
/**
 * `Store`'s `regenerate` and `createSession`, which every MemoryStore has (copied onto its
 * prototype below), declared so a MemoryStore is a `Store` to the type checker too.
 */
export interface MemoryStore {
  regenerate(req: any, callback: (err?: any) => any): void
  createSession(req: any, session: SessionData): Session & SessionData
}
for (const name of ['regenerate', 'createSession'] as const) {
  Object.defineProperty(MemoryStore.prototype, name, {
    value: (StoreBase.prototype as unknown as Record<string, unknown>)[name],
    writable: true,
    configurable: true,
    enumerable: false,
  })
}

/**
 * The sessionkit side of a MemoryStore as its class defines it: the connect face writes
 * through these, never through connect methods the app replaced on the instance (a replaced
 * `touch` that calls the original must see one call, as with express-session's MemoryStore).
 */
function spiOf(store: SessionkitMemoryStore): SessionStore {
  const base = SessionkitMemoryStore.prototype
  return {
    capabilities: store.capabilities,
    load: (id) => base.load.call(store, id),
    save: (change) => base.save.call(store, change),
    touch: (id, touch) => base.touch.call(store, id, touch),
    delete: (id) => base.delete.call(store, id),
  }
}

/**
 * What `req.sessionStore` shows for a sessionkit store that is no connect store (Redis,
 * DynamoDB): a `Store` with callback `get`, `set`, `destroy` and `touch` over it. It has no
 * `all`, `length` or `clear`, as a connect store that cannot enumerate.
 */
export function connectStoreFor(store: SessionStore): Store {
  const face = connectFace(store)
  const facade = new (StoreBase as unknown as new () => Store)()
  Object.assign(facade, { get: face.get, set: face.set, destroy: face.destroy, touch: face.touch })
  return facade
}

/**
 * A connect store as the middleware drives it: every call reaches the store's methods as they
 * are at call time (an app may replace them on the instance), and a stored object without a
 * `cookie` fails the request as express-session's `createSession` fails it (a TypeError to
 * `next(err)`). Such an object can only come from a foreign writer: sessionkit always writes
 * one. Its own `ttl` stays visible (the default idle timeout of browser-session cookies).
 */
export function drivenAsPeer(store: CallbackStore): CallbackStore {
  return {
    get: (sid, callback) =>
      store.get(sid, (err?: unknown, found?: object | null) => {
        const session = found as Record<string, unknown> | null | undefined
        if (err || !session) return callback(err, session)
        try {
          // The expression express-session's createSession evaluates first, with its error.
          void (session.cookie as { expires?: unknown }).expires
        } catch (error) {
          return callback(error)
        }
        callback(null, session)
      }),
    set: (sid, session, callback) => store.set(sid, session, callback),
    destroy: (sid, callback) => store.destroy(sid, callback),
    get touch() {
      return typeof store.touch === 'function'
        ? (sid: string, session: Record<string, unknown>, callback: Callback) =>
            store.touch!(sid, session, callback)
        : undefined
    },
    get ttl() {
      return (store as { ttl?: unknown }).ttl
    },
  } as CallbackStore
}

const BASE_METHODS = ['regenerate', 'load', 'createSession'] as const

/**
 * The app's own `createSession` or `regenerate` on its store (on the instance or a subclass),
 * which express-session calls where it builds or regenerates `req.session`; `undefined` for
 * the base class's, ours or express-session's (a prototype holding all three base methods).
 */
export function overridden(
  store: unknown,
  name: 'regenerate' | 'createSession',
): ((...args: any[]) => unknown) | undefined {
  if (typeof store !== 'object' || store === null) return undefined
  const fn = (store as Record<string, unknown>)[name]
  if (typeof fn !== 'function' || fn === (proto as unknown as Record<string, unknown>)[name]) return undefined
  let owner: object | null = store
  while (owner && !Object.hasOwn(owner, name)) owner = Object.getPrototypeOf(owner)
  if (owner && owner !== store && BASE_METHODS.every((base) => Object.hasOwn(owner!, base))) return undefined
  return fn as (...args: any[]) => unknown
}
