import type { SessionStore as CoreSessionStore, SessionRepository } from '@sessionkit/core'
import type { Session as Data } from 'fastify'
import type { CookieOptions, SessionCookie } from './cookie'
import type { SessionCallback } from './session'

declare module 'fastify' {
  /**
   * The base of {@link Data | Session}, under @fastify/session's name: plugins augment it
   * (@fastify/passport adds an index signature, so `session.get('returnTo')` type-checks).
   *
   * @example
   * ```ts
   * declare module 'fastify' { interface ExpressSessionData { [key: string]: any } }
   * ```
   */
  interface ExpressSessionData {
    /** This session's cookie (`maxAge`, `expires`, `httpOnly`, ...): change it here for this session only. */
    cookie: SessionCookie
  }

  /**
   * Your session data: augment it to type `request.session`.
   *
   * @example
   * ```ts
   * declare module 'fastify' { interface Session { userId: string } }
   * ```
   */
  interface Session extends ExpressSessionData {}

  interface FastifyRequest {
    /** The session; `null` after `destroy()`. */
    session: FastifySessionObject
    /**
     * The store given in the options (or the default MemoryStore), typed as @fastify/session
     * types it. The peer's callback `get`/`set`/`destroy` work on every store: a sessionkit
     * store (Redis, DynamoDB, ...) gets them added over its own methods. For sessionkit's
     * operations (`destroyAllFor`, `findByPrincipal`) use `fastify.sessionRepository`.
     */
    readonly sessionStore: Readonly<SessionStore & Partial<CoreSessionStore>>
  }

  interface FastifyInstance {
    /** Loads the session a signed id (without `cookiePrefix`) names into `request.session`. */
    decryptSession<Request extends Record<string, any> = FastifyRequest>(
      sessionId: string,
      request: Request,
      cookieOpts: CookieOptions,
      callback: SessionCallback,
    ): void
    decryptSession<Request extends Record<string, any> = FastifyRequest>(
      sessionId: string,
      request: Request,
      callback: SessionCallback,
    ): void
    /** The repository behind the plugin, for admin code: `destroyAllFor`, `findByPrincipal`. */
    sessionRepository: SessionRepository
  }
}

/**
 * The type of `request.session`: your {@link Data | Session} data plus the methods of
 * @fastify/session and sessionkit's additions.
 *
 * @example
 * ```ts
 * function logout(session: FastifySessionObject) { return session.destroy() }
 * ```
 */
export interface FastifySessionObject extends Data {
  /** The session's id (unsigned); changes on `regenerate()` and `changeId()`. */
  readonly sessionId: string
  /** The signed id, as the cookie carries it (without `cookiePrefix`). */
  readonly encryptedSessionId: string
  /** Moves the cookie's expiry to now + maxAge. */
  touch(): void
  /** New id; the listed keys are kept, everything else dropped; the old session is deleted. */
  regenerate(callback: SessionCallback): void
  regenerate(keysToKeep: string[], callback: SessionCallback): void
  regenerate(): Promise<void>
  regenerate(keysToKeep: string[]): Promise<void>
  /** Cookie options for this session only (`maxAge` in ms). */
  options(opts: Partial<CookieOptions>): void
  /** Deletes the session from the store now; the response clears the cookie. `request.session` is `null` after it. */
  destroy(callback: SessionCallback): void
  destroy(): Promise<void>
  /** Replaces the data with what the store holds now (a `SESSION_NOT_FOUND` error when it is gone). */
  reload(callback: SessionCallback): void
  reload(): Promise<void>
  /** Saves now, changed or not; the end-of-request save then writes only later changes. */
  save(callback: SessionCallback): void
  save(): Promise<void>
  /** Sets one data key (the same as assigning `request.session[key]`). */
  set<K extends keyof Data>(key: K, value: Data[K]): void
  /** Reads one data key (the same as `request.session[key]`). */
  get<K extends keyof Data>(key: K): Data[K] | undefined
  /** True when the data changed since the session was loaded or last saved (cookie changes do not count). */
  isModified(): boolean
  /** True once this request saved the session (`save()`, or the end-of-request save). */
  isSaved(): boolean
  /** sessionkit: new id, same data (at login, against session fixation). */
  changeId(callback?: SessionCallback): Promise<void>
  /** sessionkit: the session's owner set by `setPrincipal`, `undefined` when none. */
  getPrincipal(): string | undefined
  /** sessionkit: names the session's owner (e.g. a user id), so `revokeAll` and `destroyAllFor` find it. */
  setPrincipal(principal: string | undefined): void
  /**
   * sessionkit: deletes every session of this principal (this one too unless `exceptCurrent`);
   * answers how many. Needs a store with a principal index (MemoryStore, RedisStore,
   * DynamoDBStore, PostgresStore).
   */
  revokeAll(options?: { exceptCurrent?: boolean }, callback?: SessionCallback<number>): Promise<number>
}

/**
 * @fastify/session's store interface, under its name: whole sessions through callbacks
 * (express-session's connect stores fit too). A sessionkit store (`@sessionkit/redis`, ...)
 * is accepted as well and keeps every sessionkit guarantee.
 *
 * @example
 * ```ts
 * class MapStore implements SessionStore { set(id, session, cb) { ... } get(id, cb) { ... } destroy(id, cb) { ... } }
 * ```
 */
export interface SessionStore {
  set(sessionId: string, session: Data, callback: (err?: any) => void): void
  get(sessionId: string, callback: (err: any, result?: Data | null) => void): void
  destroy(sessionId: string, callback: (err?: any) => void): void
}
