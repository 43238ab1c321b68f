import type { IncomingMessage, ServerResponse } from 'node:http'
import type { CommitResult, CookieIdResolver, Session as CoreSession } from '@sessionkit/core'
import { SessionError, serializeCookie } from '@sessionkit/core'
import { attributesOf, Cookie, type CookieOptions, cookieFromRecord, cookieRecord } from './cookie'
import type { Config } from './options'
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
 * The server-side idle timeout a cookie stands for: a browser-session cookie gets the
 * repository's default (one day). Apps make one with `cookie.expires = false` too, which
 * leaves `originalMaxAge` false.
 */
const idleTimeoutOf = (cookie: Cookie, fallback: number) =>
  typeof cookie.originalMaxAge !== 'number' ? fallback : Math.max(1, Math.floor(cookie.originalMaxAge))

/** express-session's notion of HTTPS: TLS socket, else X-Forwarded-Proto or Express's `req.secure`. */
export function isSecure(req: Req, proxy: boolean | undefined): boolean {
  if ((req.socket as { encrypted?: boolean } | null)?.encrypted) return true
  if (proxy === false) return false
  if (proxy !== true) return req.secure === true
  const header = req.headers['x-forwarded-proto']
  const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]
  return first?.trim().toLowerCase() === 'https'
}

/**
 * One request's session: the core session underneath `req.session`, and the peer's rules
 * for when to save and when to send the cookie, mapped onto the repository.
 */
export class RequestContext implements SessionContext {
  core!: CoreSession
  originalId = ''
  /** A mid-request save wrote something: the response counts as modified (as the peer's hash does). */
  wroteEarly = false
  savedEarly = false
  ended = false
  touched = false
  #queue: Promise<unknown> = Promise.resolve()

  constructor(
    readonly config: Config,
    readonly req: Req,
    readonly resolver: CookieIdResolver,
    readonly cookieId: string | undefined,
  ) {
    Object.defineProperty(req, CONTEXT, { value: this, configurable: true })
  }

  get id(): string {
    return this.core.id
  }

  /** Loads the session the cookie names, or starts a new one. Store failures reject. */
  async open(): Promise<void> {
    const loaded = this.cookieId === undefined ? undefined : await this.config.repository.load(this.cookieId)
    if (loaded) this.#adopt(loaded)
    else this.#generate()
    this.originalId = this.core.id
  }

  #generate(): void {
    const id = this.config.genid?.(this.req)
    this.core = this.config.repository.create({ id, requestedId: this.cookieId })
    this.#fresh()
  }

  /** A new `req.session` with a cookie made from the options, for the current core session. */
  #fresh(): void {
    const req = this.req
    const options: CookieOptions =
      typeof this.config.cookie === 'function' ? this.config.cookie(req) : this.config.cookie
    const cookie = new Cookie(options)
    const secure = isSecure(req, this.config.proxy)
    if (options.secure === 'auto') cookie.secure = secure
    if (options.sameSite === 'auto') cookie.sameSite = secure ? 'none' : 'lax'
    req.sessionID = this.core.id
    req.session = new Session(req, { cookie })
    this.core.maxInactiveMs = idleTimeoutOf(cookie, this.config.repository.maxInactiveMs)
  }

  #adopt(core: CoreSession): void {
    this.core = core
    const { cookie: stored, ...data } = core.data as Record<string, unknown>
    this.req.sessionID = core.id
    this.req.session = new Session(this.req, { cookie: cookieFromRecord(stored, core.expiresAt), ...data })
  }

  /** Copies `req.session`'s data and cookie settings into the core session. */
  #sync(): void {
    const session = this.req.session as Session
    const data: Record<string, unknown> = {}
    for (const key of Object.keys(session)) if (key !== 'cookie') data[key] = (session as any)[key]
    data.cookie = cookieRecord(session.cookie)
    this.core.maxInactiveMs = idleTimeoutOf(session.cookie, this.config.repository.maxInactiveMs)
    this.core.data = data
  }

  /** express-session's "modified": new id, or data (not cookie) changed since load. */
  modified(): boolean {
    if (this.wroteEarly || this.core.id !== this.originalId) return true
    if (!(this.req.session instanceof Session)) return false
    try {
      this.#sync()
      return this.config.repository.isModified(this.core, { ignore: ['cookie'], ignoreTimeout: true })
    } catch {
      return true // an unencodable session is "modified": the save reports the error
    }
  }

  async #commit(force: boolean): Promise<CommitResult> {
    this.#sync()
    const result = await this.config.repository.save(this.core, { saveUninitialized: true, force })
    // A create that collided was retried under a new id: the cookie must name that one.
    if (typeof this.req.sessionID === 'string') this.req.sessionID = this.core.id
    return result
  }

  /** Runs session operations of one request one after another. */
  #run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(op)
    this.#queue = result.catch(() => {})
    return result
  }

  save(): Promise<void> {
    return this.#run(async () => {
      if (!(this.req.session instanceof Session)) return
      const result = await this.#commit(true)
      this.savedEarly = true
      if (result === 'created' || result === 'saved') this.wroteEarly = true
    })
  }

  reload(): Promise<void> {
    return this.#run(async () => {
      const loaded = await this.config.repository.load(this.core.id)
      // express-session's message, with a code to check by.
      if (!loaded) throw new SessionError('SESSION_NOT_FOUND', 'failed to load session')
      this.#adopt(loaded)
    })
  }

  regenerate(): Promise<void> {
    return this.#run(async () => {
      // The previous record is deleted now, as express-session does; the new one at the end.
      await this.config.repository.regenerate(this.core, this.config.genid?.(this.req))
      this.#fresh()
    })
  }

  destroy(): Promise<void> {
    return this.#run(() => this.#destroy())
  }

  async #destroy(): Promise<void> {
    this.core.destroy()
    await this.config.repository.save(this.core)
  }

  changeId(): Promise<void> {
    return this.#run(async () => {
      this.core.changeId(this.config.genid?.(this.req))
      this.req.sessionID = this.core.id
    })
  }

  setPrincipal(name: string | undefined): void {
    this.core.setPrincipal(name)
  }

  revokeAll(exceptCurrent: boolean): Promise<number> {
    return this.#run(async () => {
      const principal = this.core.principal
      const except = exceptCurrent ? this.core.storedId : undefined
      const count =
        principal === undefined ? 0 : await this.config.repository.destroyAllFor(principal, { except })
      if (!exceptCurrent) await this.#destroy()
      return count
    })
  }

  /** The end-of-request save, after any operation still running. */
  finish(): Promise<CommitResult | undefined> {
    return this.#run(async () => {
      const { req, config, core } = this
      if (core.isDestroyed) return 'destroyed'
      if (req.session == null) {
        if (config.unsetDestroy && typeof req.sessionID === 'string') await this.#destroy()
        return undefined
      }
      if (typeof req.sessionID !== 'string' || !(req.session instanceof Session)) return undefined
      if (core.isNew && !config.saveUninitialized && !this.modified()) return 'skipped'
      return this.#commit(config.resave && !this.savedEarly && !core.isNew)
    })
  }

  /** express-session's `touch()` before the cookie is decided, once per request. */
  touch(): void {
    if (this.touched || !(this.req.session instanceof Session)) return
    this.touched = true
    this.req.session.touch()
  }

  /** express-session's rule for sending Set-Cookie (`shouldSetCookie`). */
  shouldSetCookie(): boolean {
    const { req, config } = this
    if (!(req.session instanceof Session) || typeof req.sessionID !== 'string' || this.core.isDestroyed)
      return false
    return this.cookieId !== req.sessionID
      ? config.saveUninitialized || this.modified()
      : config.rolling || (req.session.cookie.expires != null && this.modified())
  }

  /** Appends the Set-Cookie header when `send`; never a Secure cookie over plain HTTP. */
  writeCookie(res: ServerResponse, send: boolean): void {
    const session = this.req.session
    if (!send || !(session instanceof Session) || typeof this.req.sessionID !== 'string') return
    const secure = isSecure(this.req, this.config.proxy)
    if (session.cookie.secure && !secure) return
    this.touch()
    let expires = session.cookie.expires ?? undefined
    const absolute = this.config.repository.absoluteTimeoutMs
    if (expires && absolute !== undefined && this.core.createdAt + absolute < expires.getTime()) {
      expires = new Date(this.core.createdAt + absolute)
    }
    const value = this.resolver.wrap(this.req.sessionID)
    res.appendHeader(
      'Set-Cookie',
      serializeCookie(this.config.name, value, attributesOf(session.cookie), { expires, secure }),
    )
  }
}
