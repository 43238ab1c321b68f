import type { SessionRepository } from '@sessionkit/core'
import { Cookie } from './cookie'
import { createHandler, type Handler } from './middleware'
import { resolveOptions, type SessionOptions } from './options'
import { Session } from './session'
import { type ConnectStore, MemoryStore, Store, type StoreConstructor } from './store'

/**
 * Your session data: merge your own fields in, as with express-session. `cookie` is there as
 * @types/express-session has it: every stored session carries one, and stores read it
 * (connect-redis takes its TTL from `cookie.expires`).
 *
 * @example
 * ```ts
 * declare module '@sessionkit/express' {
 *   interface SessionData { userId: string }
 * }
 * ```
 */
export interface SessionData {
  /** The session's cookie settings, as stored with it. */
  cookie: Cookie
}

/** `req.session`: the session object plus your {@link SessionData}. */
export type RequestSession = Session & Partial<SessionData>

/** What `session(options)` returns: Express middleware, with the repository for admin code. */
export interface SessionMiddleware extends Handler {
  /** The sessionkit repository, e.g. `repository.destroyAllFor('alice')` from an admin route. */
  readonly repository: SessionRepository
}

declare global {
  namespace Express {
    interface Request {
      /** The session (absent on requests outside `cookie.path`, or after `destroy()`). */
      session: Session & Partial<SessionData>
      /** The session's id, as `req.session.id` (the peer's name); a new one after `regenerate()`. */
      sessionID: string
      /**
       * The store, with connect methods (a connect face over a sessionkit store), and the
       * `generate(req)` the middleware sets on it, as express-session does.
       */
      sessionStore: ConnectStore<SessionData> & { generate(req: Request): void }
    }
  }
}

/**
 * Session middleware with express-session's options, defaults and `req.session` API, on
 * sessionkit stores: attribute-level saves, no resurrection after logout, throttled touches,
 * principal index.
 *
 * @example
 * ```ts
 * import session from '@sessionkit/express' // was: import session from 'express-session'
 * import express from 'express'
 *
 * declare module '@sessionkit/express' {
 *   interface SessionData { views: number }
 * }
 *
 * const app = express()
 * app.use(session({ secret: process.env.SESSION_SECRET!, resave: false, saveUninitialized: false }))
 * app.get('/', (req, res) => {
 *   req.session.views = (req.session.views ?? 0) + 1
 *   res.send(`views: ${req.session.views}`)
 * })
 * ```
 */
function session(options?: SessionOptions): SessionMiddleware {
  const config = resolveOptions(options)
  const handler = createHandler(config) as Handler & { repository?: SessionRepository }
  Object.defineProperty(handler, 'repository', { value: config.repository, enumerable: false })
  return handler as SessionMiddleware
}

// Not `session.Store = Store`: TypeScript would declare those assignments as a second namespace
// whose members the declaration bundler flattens to `var Store: typeof Store`.
Object.assign(session, { Store, MemoryStore, Session, Cookie })

// The same names on the top level would be shadowed inside `namespace session` by its own
// members, and the declaration bundler flattens renamed imports and `import('./x').Name` back
// to the bare name: `type SessionOptions = SessionOptions`, a self-reference that breaks the
// published .d.ts. Each member refers to one of these distinctly named aliases instead.
type OptionsType = SessionOptions
type DataType = SessionData
type CookieOptionsType = import('./cookie').CookieOptions
type StoreType = Store
type StoreValue = StoreConstructor
type MemoryStoreType = MemoryStore
type MemoryStoreValue = typeof MemoryStore
type SessionType = Session
type SessionValue = typeof Session
type CookieType = Cookie
type CookieValue = typeof Cookie

// express-session's types and classes are reached through the default export too
// (`session.SessionOptions`, `new session.MemoryStore()`, `let s: session.Store`), as
// @types/express-session has them.
declare namespace session {
  export type SessionOptions = OptionsType
  export type SessionData = DataType
  export type CookieOptions = CookieOptionsType
  export type SessionStore = ConnectStore<DataType>
  export type Store = StoreType
  export let Store: StoreValue
  export type MemoryStore = MemoryStoreType
  export let MemoryStore: MemoryStoreValue
  export type Session = SessionType
  export let Session: SessionValue
  export type Cookie = CookieType
  export let Cookie: CookieValue
}

export default session
export { Cookie, type CookieData, type CookieOptions } from './cookie'
export { isSessionError, SessionError, type SessionErrorCode } from './errors'
export type { SessionOptions } from './options'
export { Session, type SessionCallback } from './session'
export { type ConnectStore, MemoryStore, Store, type StoreConstructor } from './store'
export { session }
