import { isSecureRequest } from './cookie'
import { type CommitResult, SessionRepository, type SessionRepositoryOptions } from './repository'
import {
  CookieIdResolver,
  type HttpRequestLike,
  type HttpResponseLike,
  type SessionIdResolver,
} from './resolvers'
import type { Session } from './session'
import type { Secret } from './signer'

/** Options of {@link SessionManager}: the repository's, plus how ids travel over HTTP. */
export interface SessionManagerOptions<Data extends object = Record<string, unknown>>
  extends Partial<SessionRepositoryOptions> {
  /** An existing repository; otherwise one is made from these options. */
  repository?: SessionRepository<Data>
  /** Where the id travels. Default: a signed cookie (needs `secret`). */
  resolver?: SessionIdResolver
  /** Secrets of the default cookie resolver: sign with the first, verify with any. */
  secret?: Secret | readonly Secret[]
  /** Send the id on every response, not only when it is new or the session changed. Default: false. */
  rolling?: boolean
  /** Save new sessions that hold no data. Default: false. */
  saveUninitialized?: boolean
  /** Honour X-Forwarded-Proto for `secure: 'auto'`. Default: false. */
  trustProxy?: boolean
  /** Cookie Expires follows the session's expiry; `false` gives a browser-session cookie. Default: true. */
  persistentCookie?: boolean
}

/**
 * The per-request lifecycle with no framework in it: resolve the id, verify it, load or
 * create the session, and at the end commit it (save, touch, rotate or delete) and set or
 * clear the id on the response. Bindings call `open` and `commit`.
 *
 * @example
 * ```ts
 * const manager = new SessionManager({ store: new MemoryStore(), secret: process.env.SECRET })
 * http.createServer(async (req, res) => {
 *   const session = await manager.open(req)
 *   session.data.views = ((session.data.views as number) ?? 0) + 1
 *   await manager.commit(req, res, session)
 *   res.end(String(session.data.views))
 * })
 * ```
 */
export class SessionManager<Data extends object = Record<string, unknown>> {
  readonly repository: SessionRepository<Data>
  readonly resolver: SessionIdResolver
  readonly rolling: boolean
  readonly saveUninitialized: boolean
  readonly trustProxy: boolean
  readonly persistentCookie: boolean

  constructor(options: SessionManagerOptions<Data>) {
    this.repository = options.repository ?? new SessionRepository<Data>(options as SessionRepositoryOptions)
    this.resolver =
      options.resolver ?? new CookieIdResolver({ secret: options.secret ?? (undefined as never) })
    this.rolling = options.rolling ?? false
    this.saveUninitialized = options.saveUninitialized ?? false
    this.trustProxy = options.trustProxy ?? false
    this.persistentCookie = options.persistentCookie ?? true
  }

  /** The request's session: loaded when its id is valid and live, else a new one. */
  async open(req: HttpRequestLike): Promise<Session<Data>> {
    const id = this.resolver.read(req)
    if (id === undefined) return this.repository.create()
    return (await this.repository.load(id)) ?? this.repository.create({ requestedId: id })
  }

  /** Commits the session and sets or clears the id on the response. */
  async commit(
    req: HttpRequestLike,
    res: HttpResponseLike,
    session: Session<Data>,
    options: { force?: boolean } = {},
  ): Promise<CommitResult> {
    const result = await this.repository.save(session, {
      saveUninitialized: this.saveUninitialized,
      ...options,
    })
    const write = { secure: isSecureRequest(req, this.trustProxy) }
    switch (result) {
      case 'created':
      case 'saved':
        this.resolver.write(res, session.id, { ...write, expires: this.#expires(session) })
        break
      case 'touched':
      case 'unchanged':
        if (this.rolling) this.resolver.write(res, session.id, { ...write, expires: this.#expires(session) })
        break
      default:
        // destroyed, gone, or a new empty session in place of a stale id: forget the id.
        if (session.requestedId !== undefined) this.resolver.clear(res, write)
    }
    return result
  }

  #expires(session: Session<Data>): Date | undefined {
    return this.persistentCookie ? new Date(session.expiresAt) : undefined
  }
}
