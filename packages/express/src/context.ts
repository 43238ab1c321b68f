import type { IncomingMessage } from 'node:http'
import { type CommitOutcome, type RequestLifecycle, SessionError } from '@sessionkit/core'
import { Cookie, cookieFromSettings, settingsOf } from './cookie'
import { CONTEXT, Session, type SessionContext, type SessionRequest } from './session'

/** The request as the middleware sees it: Node's, plus what Express and we add. */
export type Req = IncomingMessage &
  SessionRequest & {
    secret?: string
    secure?: boolean
    originalUrl?: string
    signedCookies?: Record<string, unknown>
    cookies?: Record<string, unknown>
  }

/**
 * Glue between `req.session` (express-session's API) and core's request lifecycle: builds
 * the Session object from the lifecycle and lets core read it back. All policy (what to save,
 * when to send the cookie) is core's, under express-session's rules.
 */
export class RequestContext implements SessionContext {
  ended = false

  constructor(
    readonly lifecycle: RequestLifecycle,
    readonly req: Req,
    readonly unsetDestroy: boolean,
    readonly touchEveryRequest: boolean,
  ) {
    Object.defineProperty(req, CONTEXT, { value: this, configurable: true })
    lifecycle.snapshot = () => {
      const session = req.session as Session
      const data: Record<string, unknown> = {}
      for (const key of Object.keys(session)) if (key !== 'cookie') data[key] = (session as any)[key]
      return { data, cookie: settingsOf(session.cookie, lifecycle.defaults, lifecycle.secure) }
    }
    // What express-session hands a connect store's `set`: the Session, i.e. `cookie` and the data.
    lifecycle.connectObject = () => {
      const session = req.session as Session
      const object: Record<string, unknown> = { cookie: session.cookie.toJSON() }
      for (const key of Object.keys(session)) if (key !== 'cookie') object[key] = (session as any)[key]
      return object
    }
    this.#present()
  }

  get id(): string {
    return this.lifecycle.id
  }

  /** Puts the lifecycle's current session on the request as express-session's objects. */
  #present(): void {
    const { lifecycle, req } = this
    const cookie = cookieFromSettings(lifecycle.cookie, this.#expiresAt(), lifecycle.secure)
    req.sessionID = lifecycle.id
    req.session = new Session(req, { cookie, ...lifecycle.data })
  }

  #expiresAt(): number {
    const { session, cookie } = this.lifecycle
    return session.isNew && cookie.originalMaxAge !== null
      ? Date.now() + cookie.originalMaxAge
      : session.expiresAt
  }

  save(): Promise<void> {
    return this.lifecycle.save().then(() => undefined)
  }

  async reload(): Promise<void> {
    // express-session's message, with a code to check by.
    if (!(await this.lifecycle.reload()))
      throw new SessionError('SESSION_NOT_FOUND', 'failed to load session')
    this.#present()
  }

  async regenerate(): Promise<void> {
    await this.lifecycle.regenerate()
    this.#present()
  }

  destroy(): Promise<void> {
    return this.lifecycle.destroy()
  }

  async changeId(): Promise<void> {
    this.req.sessionID = this.lifecycle.changeId()
  }

  setPrincipal(name: string | undefined): void {
    this.lifecycle.session.setPrincipal(name)
  }

  revokeAll(exceptCurrent: boolean): Promise<number> {
    return this.lifecycle.revokeAll({ exceptCurrent })
  }

  /**
   * Applies what the end of the request means for `req.session` (removed, replaced, touched)
   * and throws what the commit would throw before any store call. Runs once.
   */
  prepare(): void {
    if (this.#prepared) return
    this.#prepared = true
    const { req, lifecycle } = this
    if (!lifecycle.session.isDestroyed) {
      if (req.session == null && this.unsetDestroy && typeof req.sessionID === 'string') this.#unset = true
      else if (!(req.session instanceof Session) || typeof req.sessionID !== 'string') lifecycle.detach()
      else {
        this.touch()
        // express-session touches a connect store on every request that loaded the session.
        if (this.touchEveryRequest && !lifecycle.session.isNew) lifecycle.touch()
      }
    }
    if (this.#unset) lifecycle.detach()
    lifecycle.validate()
  }

  #prepared = false
  /** `req.session = null` with `unset: 'destroy'`: deleted at commit. */
  #unset = false

  /**
   * The end-of-request commit. `req.session` removed or replaced by the app, or `req.sessionID`
   * overwritten with a non-string: nothing is saved or cookied (express-session's rules), and
   * with `unset: 'destroy'` a removed session is deleted.
   */
  async finish(): Promise<CommitOutcome> {
    const { req, lifecycle } = this
    this.prepare()
    if (this.#unset) await lifecycle.destroy()
    const outcome = await lifecycle.commit()
    // A create that collided was retried under a new id: the request shows the one cookied.
    if (typeof req.sessionID === 'string' && !lifecycle.session.isDestroyed) req.sessionID = lifecycle.id
    return outcome
  }

  /** express-session's `touch()` at the end of the request: `cookie.maxAge` starts again. */
  touch(): void {
    if (this.req.session instanceof Session && this.req.session.cookie instanceof Cookie)
      this.req.session.touch()
  }
}
