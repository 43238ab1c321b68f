import { EventEmitter } from 'node:events'
import { MemoryStore as SessionkitMemoryStore } from '@sessionkit/memory'
import { Cookie, type CookieOptions } from './cookie'
import { Session, type SessionRequest } from './session'

type Callback<T = void> = (err?: any, value?: T) => void

/**
 * express-session's `Store` base class: an EventEmitter with `regenerate`, `load` and
 * `createSession`. Connect stores (connect-redis, connect-mongo, session-file-store, …)
 * extend it with `get(sid, cb)`, `set(sid, session, cb)`, `destroy(sid, cb)` and optionally
 * `touch(sid, session, cb)`, `all`, `length`, `clear`.
 */
export interface Store extends EventEmitter {
  /** Set by express-session's middleware on its store; called by `regenerate` when present. */
  generate?(req: any): void
  regenerate(req: any, callback: Callback): void
  load(sid: string, callback: Callback<Session | undefined>): void
  createSession(req: any, session: any): Session
}

/** `Store` as a value: a class to `extends`, also callable the ES5 way (`Store.call(this)`). */
export interface StoreConstructor {
  new (): Store
  (this: Store): void
  readonly prototype: Store
}

/** What a subclass implements (not declared on Store, so subclasses need no `override`). */
interface Implemented extends Store {
  get(sid: string, callback: Callback<any>): void
  destroy(sid: string, callback?: Callback): void
}

// An ES5 constructor on purpose: older stores do `Store.call(this, options)`, which a class forbids.
function StoreBase(this: Store): void {
  EventEmitter.call(this)
}
Object.setPrototypeOf(StoreBase.prototype, EventEmitter.prototype)
Object.setPrototypeOf(StoreBase, EventEmitter)

const proto = StoreBase.prototype as Store
const method = (name: string, fn: Function) =>
  Object.defineProperty(proto, name, { value: fn, writable: true, configurable: true, enumerable: false })

method('regenerate', function regenerate(this: Implemented, req: SessionRequest, callback: Callback) {
  this.destroy(req.sessionID as string, (err?: unknown) => {
    this.generate?.(req)
    callback(err)
  })
})

method('load', function load(this: Implemented, sid: string, callback: Callback<Session | undefined>) {
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
 * The in-process store, a sessionkit store (attribute-level saves, expiry sweeping, bounded
 * size, principal index): `new session.MemoryStore()` as `store:` gets every sessionkit
 * guarantee. It is not express-session's callback MemoryStore: it has no `get`/`set`/`all`.
 *
 * @example
 * ```ts
 * app.use(session({ secret, store: new MemoryStore({ maxSessions: 50_000 }) }))
 * ```
 */
export class MemoryStore extends SessionkitMemoryStore {}
