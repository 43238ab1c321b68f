import { settle as coreSettle } from '@sessionkit/core'
import type { Cookie } from './cookie'

/** Where the middleware keeps a request's session machinery (not enumerable, not JSON). */
export const CONTEXT: unique symbol = Symbol.for('sessionkit.express.context')

/** What a {@link Session}'s methods delegate to; the middleware implements it per request. */
export interface SessionContext {
  readonly id: string
  save(): Promise<void>
  reload(): Promise<void>
  regenerate(): Promise<void>
  destroy(): Promise<void>
  changeId(): Promise<void>
  readonly principal: string | undefined
  setPrincipal(name: string | undefined): void
  revokeAll(exceptCurrent: boolean): Promise<number>
}

/** The request fields a Session reads, as express-session's does. */
export interface SessionRequest {
  sessionID?: string
  sessionStore?: unknown
  session?: unknown
  [CONTEXT]?: SessionContext
}

/** Node-style callback of the session methods. */
export type SessionCallback = (err?: any) => void

const contextOf = (req: SessionRequest) => req[CONTEXT]

/**
 * `req.session`: the data as plain enumerable properties next to `cookie`, and
 * express-session's methods on the prototype (not enumerable). Each method takes a callback
 * as express-session's does, or returns a promise when none is given.
 *
 * @example
 * ```ts
 * app.post('/login', async (req, res) => {
 *   await req.session.changeId()          // against session fixation, keeps the data
 *   req.session.userId = user.id
 *   req.session.setPrincipal(user.name)   // so revokeAll / destroyAllFor find it
 *   res.redirect('/')
 * })
 * ```
 */
export class Session {
  /** The request this session belongs to (not enumerable, as express-session's). */
  declare readonly req: SessionRequest
  /** The session's id, the same as `req.sessionID`; a new one after `regenerate()` or `changeId()`. */
  declare readonly id: string
  /**
   * This session's cookie settings (`maxAge`, `expires`, `httpOnly`, `secure`, `sameSite`, ...):
   * change them here for this session only; they are stored with it.
   */
  declare cookie: Cookie

  constructor(req: SessionRequest, data?: object | null) {
    const fixedId = req.sessionID as string
    Object.defineProperty(this, 'req', { value: req })
    Object.defineProperty(this, 'id', { get: () => contextOf(req)?.id ?? fixedId, configurable: true })
    if (typeof data === 'object' && data !== null) addStored(this, data as Record<string, unknown>)
  }

  /** Resets the cookie's expiry to `originalMaxAge` from now. */
  touch(): this {
    return this.resetMaxAge()
  }

  /** Resets the cookie's expiry to `originalMaxAge` from now (what `touch()` does). */
  resetMaxAge(): this {
    this.cookie.maxAge = this.cookie.originalMaxAge
    return this
  }

  /** Saves now; the end-of-request save then writes only what changes afterwards. */
  save(callback: SessionCallback): this
  save(): Promise<void>
  save(callback?: SessionCallback): this | Promise<void> {
    return settle(this, (ctx) => ctx.save(), callback)
  }

  /** Replaces `req.session` with the stored state of this session. */
  reload(callback: SessionCallback): this
  reload(): Promise<void>
  reload(callback?: SessionCallback): this | Promise<void> {
    return settle(this, (ctx) => ctx.reload(), callback)
  }

  /** Deletes the session now and removes `req.session`. */
  destroy(callback: SessionCallback): this
  destroy(): Promise<void>
  destroy(callback?: SessionCallback): this | Promise<void> {
    const req = this.req
    return settle(
      this,
      (ctx) => {
        delete req.session
        return ctx.destroy()
      },
      callback,
    )
  }

  /** Deletes this session and puts a new, empty one with a new id in `req.session`. */
  regenerate(callback: SessionCallback): this
  regenerate(): Promise<void>
  regenerate(callback?: SessionCallback): this | Promise<void> {
    return settle(this, (ctx) => ctx.regenerate(), callback)
  }

  /** New id, same data (sessionkit addition): call it at login, against session fixation. */
  changeId(callback: SessionCallback): this
  changeId(): Promise<void>
  changeId(callback?: SessionCallback): this | Promise<void> {
    return settle(this, (ctx) => ctx.changeId(), callback)
  }

  /** Names the session's owner (sessionkit addition), e.g. a user id, for `revokeAll`. */
  setPrincipal(name: string | undefined): this {
    bound(this).setPrincipal(name)
    return this
  }

  /**
   * The session's owner set by `setPrincipal` (sessionkit addition), `undefined` when none:
   * a method, so `principal` stays free for your data (as on Koa and Fastify).
   */
  getPrincipal(): string | undefined {
    return bound(this).principal
  }

  /**
   * Destroys every session of this session's principal (sessionkit addition): "log out
   * everywhere". Needs a store with a principal index. Answers how many were destroyed.
   */
  revokeAll(options?: { exceptCurrent?: boolean }): Promise<number>
  revokeAll(callback: (err: any, count?: number) => void): this
  revokeAll(options: { exceptCurrent?: boolean }, callback: (err: any, count?: number) => void): this
  revokeAll(
    options?: { exceptCurrent?: boolean } | ((err: any, count?: number) => void),
    callback?: (err: any, count?: number) => void,
  ): this | Promise<number> {
    if (typeof options === 'function') return this.revokeAll({}, options)
    const exceptCurrent = options?.exceptCurrent === true
    const req = this.req
    return settle(
      this,
      (ctx) => {
        if (!exceptCurrent) delete req.session
        return ctx.revokeAll(exceptCurrent)
      },
      callback,
    )
  }
}

/**
 * Copies stored data onto a session; keys that clash with members (`save`, `id`, …) are
 * dropped, as express-session does.
 */
export function addStored(session: Session, data: Record<string, unknown>): void {
  for (const key in data)
    if (!(key in session)) (session as unknown as Record<string, unknown>)[key] = data[key]
}

function bound(session: Session): SessionContext {
  const ctx = contextOf(session.req)
  if (!ctx) throw new Error('this session is not bound to a request handled by @sessionkit/express')
  return ctx
}

/** Core's callback/promise bridge; with a callback the peer's methods answer the session. */
function settle<T>(
  session: Session,
  run: (ctx: SessionContext) => Promise<T>,
  callback: ((err: any, value?: T) => void) | undefined,
): any {
  return coreSettle(() => run(bound(session)), callback) ?? session
}
