import type { IncomingMessage } from 'node:http'
import { type CommitOutcome, type Preview, type RequestLifecycle, SessionError } from '@sessionkit/core'
import { Cookie, type CookieOptions, cookieFromSettings, invalidExpiry, settingsOf } from './cookie'
import { addStored, CONTEXT, Session, type SessionContext, type SessionRequest } from './session'
import { overridden } from './store'

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
    /** The `cookie` option's `expires` is an invalid Date: new sessions get it, as with the peer. */
    readonly optionExpiryInvalid = false,
  ) {
    Object.defineProperty(req, CONTEXT, { value: this, configurable: true })
    lifecycle.snapshot = () => {
      const session = req.session as Session
      // The session itself, not a copy of its data: core never reads its `cookie` key as data.
      const data = session as unknown as Record<string, unknown>
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
    if (this.optionExpiryInvalid && lifecycle.isNew) {
      cookie._expires = new Date(Number.NaN)
      cookie.originalMaxAge = Number.NaN
    }
    req.sessionID = lifecycle.id
    // The data straight onto the session, after its cookie: one pass, no intermediate copy.
    const session = new Session(req, { cookie })
    addStored(session, lifecycle.data)
    this.#ownMethods(session)
    req.session = session
    if (!lifecycle.isNew) this.#createdByStore()
  }

  /**
   * express-session builds a loaded (or reloaded) session with `store.createSession(req, sess)`:
   * an app overriding it (to migrate stored shapes, add fields) is called the same way, with the
   * session as a JSON store returns it. Whatever it puts in `req.session` becomes the session.
   */
  #createdByStore(): void {
    const { req } = this
    const createSession = overridden(req.sessionStore, 'createSession')
    if (!createSession) return
    const stored = JSON.parse(JSON.stringify(this.lifecycle.connectObject!()))
    createSession.call(req.sessionStore, req, stored)
    const made = req.session as Record<string, unknown> | null | undefined
    if (made instanceof Session && made.cookie instanceof Cookie) {
      this.#ownMethods(made)
      return
    }
    if (typeof made !== 'object' || made === null) return
    // Another Store base class (express-session's) built its own objects: carry them over to ours.
    const given = made.cookie as (Partial<Cookie> & { data?: object }) | undefined
    const cookie = new Cookie((given?.data ?? given) as CookieOptions | undefined)
    if (given?.expires !== undefined)
      cookie._expires = given.expires ? new Date(given.expires) : given.expires
    if (given?.originalMaxAge !== undefined) cookie.originalMaxAge = given.originalMaxAge
    const session = new Session(req, { cookie })
    addStored(session, made)
    this.#ownMethods(session)
    req.session = session
  }

  /**
   * express-session puts `reload` and `save` on each session it hands out as own,
   * non-enumerable properties: an app that assigns its own keeps them out of the data.
   */
  #ownMethods(session: Session): void {
    for (const name of ['reload', 'save'] as const) {
      Object.defineProperty(session, name, {
        value: Session.prototype[name],
        writable: true,
        configurable: true,
        enumerable: false,
      })
    }
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
    // express-session asks the store also for a session never saved.
    if (!(await this.lifecycle.reload({ lookUpUnsaved: true })))
      throw new SessionError('SESSION_NOT_FOUND', 'failed to load session')
    this.#present()
  }

  async regenerate(): Promise<void> {
    const custom = overridden(this.req.sessionStore, 'regenerate')
    if (custom) return this.#regenerateThroughStore(custom)
    return this.#regenerateHere()
  }

  /** What `store.generate(req)` started during an overriding `store.regenerate`. */
  #generated: Session | undefined

  /**
   * express-session's `regenerate` is `store.regenerate(req, cb)`: an app overriding it is
   * called the same way. Its `this.generate(req)` gives `req.session` a new, empty session at
   * once (the app may fill it before calling back); the new id is made and the old record
   * deleted (again: a delete of a missing id does nothing) once it has called back, and what
   * it put in `req.session` is kept.
   */
  async #regenerateThroughStore(custom: (...args: any[]) => unknown): Promise<void> {
    const { req } = this
    this.#generated = undefined
    await new Promise<void>((resolve, reject) =>
      custom.call(req.sessionStore, req, (err?: unknown) => (err ? reject(err) : resolve())),
    )
    const placeholder = this.#generated
    this.#generated = undefined
    if (!placeholder) return
    await this.#regenerateHere()
    const fresh = req.session as Session
    for (const key of Object.keys(placeholder))
      if (key !== 'cookie') (fresh as unknown as Record<string, unknown>)[key] = (placeholder as any)[key]
  }

  /** `store.generate(req)`: a new, empty session in `req.session` now (see {@link regenerate}). */
  generate(): void {
    const { defaults, secure } = this.lifecycle
    const cookie = cookieFromSettings(defaults, Date.now() + (defaults.originalMaxAge ?? 0), secure)
    const session = new Session(this.req, { cookie })
    this.#ownMethods(session)
    this.#generated = session
    this.req.session = session
  }

  /** The lifecycle's regenerate, `req.session` rebuilt from it. */
  async #regenerateHere(): Promise<void> {
    try {
      await this.lifecycle.regenerate()
    } finally {
      // Also when deleting the old record failed: express-session goes on with the new session.
      if (this.lifecycle.id !== this.req.sessionID) this.#present()
    }
  }

  destroy(): Promise<void> {
    return this.lifecycle.destroy()
  }

  async changeId(): Promise<void> {
    this.req.sessionID = this.lifecycle.changeId()
  }

  get principal(): string | undefined {
    return this.lifecycle.session.principal
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
    this.#applyEnd()
    this.lifecycle.preview('check')
  }

  /**
   * {@link prepare}, answering the cookie the commit would send as decided now (validating
   * and predicting share one read and one encoding of the session) and, when the commit needs
   * no store call, its outcome: the response then ends at once, as express-session ends it
   * when it has nothing to save or touch. Runs once, as `prepare`.
   */
  prepareEnd(): Preview {
    if (this.#prepared) return this.lifecycle.preview()
    this.#applyEnd()
    return this.lifecycle.preview('end')
  }

  #applyEnd(): void {
    this.#prepared = true
    const { req, lifecycle } = this
    if (!lifecycle.session.isDestroyed) {
      if (req.session == null && this.unsetDestroy && typeof req.sessionID === 'string') this.#unset = true
      else if (!(req.session instanceof Session) || typeof req.sessionID !== 'string') lifecycle.detach()
      else {
        this.touch()
        // express-session touches a connect store on every request whose cookie named the session.
        if (this.touchEveryRequest && lifecycle.presentedId === lifecycle.id && !lifecycle.isNew)
          lifecycle.touch()
      }
    }
    if (this.#unset) lifecycle.detach()
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

  /** The error express-session raises when it serializes this session's cookie, if any. */
  cookieError(): TypeError | undefined {
    const cookie = (this.req.session as Session | undefined)?.cookie
    return cookie instanceof Cookie ? invalidExpiry(cookie) : undefined
  }

  /** express-session's `touch()` at the end of the request: `cookie.maxAge` starts again. */
  touch(): void {
    if (this.req.session instanceof Session && this.req.session.cookie instanceof Cookie)
      this.req.session.touch()
  }
}
