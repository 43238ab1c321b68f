import type { IncomingHttpHeaders } from 'node:http'
import { type CookieOptions, type CookieWrite, readCookie, serializeCookie } from './cookie'
import { createSigner, type Secret, type Signer } from './signer'

/** The part of a request the id resolvers read. */
export interface HttpRequestLike {
  headers: IncomingHttpHeaders
  /** `encrypted` is read when present (a TLS socket). */
  socket?: object | null
}

/** The part of a response the id resolvers write; Node's `ServerResponse` fits. */
export interface HttpResponseLike {
  appendHeader(name: string, value: string | string[]): unknown
}

/** Finds the session id in a request and hands it back on the response. */
export interface SessionIdResolver {
  /** The verified id the request carries, or `undefined`. */
  read(req: HttpRequestLike): string | undefined
  write(res: HttpResponseLike, id: string, write: CookieWrite): void
  /** Tells the client to forget its id (logout, expiry). */
  clear(res: HttpResponseLike, write: CookieWrite): void
}

/** Options of {@link CookieIdResolver}. */
export interface CookieIdResolverOptions {
  /** Cookie name. Default: `'sid'`. */
  name?: string
  /** Secrets (sign with the first, verify with any) or a signer; `false` for unsigned ids. */
  secret: Secret | readonly Secret[] | Signer | false
  /** HMAC algorithm of the default signer. Default: `'sha256'`. */
  algorithm?: string
  /** Put before the signed value: `'s:'` is express-session's form. Default: `'s:'`. */
  prefix?: string
  /** Defaults: HttpOnly, SameSite=Lax, Path=/, Secure when the request is HTTPS. */
  cookie?: CookieOptions
  /** Also send Max-Age (in seconds) beside Expires. Default: false. */
  sendMaxAge?: boolean
}

/**
 * The session id in a signed cookie, `s:<id>.<hmac>` by default: the form express-session
 * issues, so one cookie is valid across Express, Koa and Fastify apps sharing a store.
 *
 * @example
 * ```ts
 * const resolver = new CookieIdResolver({ name: 'connect.sid', secret: [process.env.SECRET!] })
 * ```
 */
export class CookieIdResolver implements SessionIdResolver {
  readonly name: string
  readonly prefix: string
  readonly cookie: CookieOptions
  readonly signer: Signer | undefined
  readonly #sendMaxAge: boolean

  constructor(options: CookieIdResolverOptions) {
    this.name = options.name ?? 'sid'
    this.prefix = options.prefix ?? 's:'
    this.cookie = { path: '/', httpOnly: true, sameSite: 'lax', secure: 'auto', ...options.cookie }
    this.signer =
      options.secret === false
        ? undefined
        : isSigner(options.secret)
          ? options.secret
          : createSigner(options.secret as Secret | Secret[], options.algorithm)
    this.#sendMaxAge = options.sendMaxAge ?? false
  }

  read(req: HttpRequestLike): string | undefined {
    const raw = readCookie(headerOf(req.headers.cookie), this.name)
    return raw === undefined ? undefined : this.unwrap(raw)
  }

  /** The id inside a cookie value (prefix stripped, signature verified), or `undefined`. */
  unwrap(value: string): string | undefined {
    if (!value.startsWith(this.prefix)) return undefined
    const body = value.slice(this.prefix.length)
    if (!this.signer) return body
    const id = this.signer.unsign(body)
    return id === false ? undefined : id
  }

  /** The cookie value for `id`: prefix plus signed id. */
  wrap(id: string): string {
    return this.prefix + (this.signer ? this.signer.sign(id) : id)
  }

  write(res: HttpResponseLike, id: string, write: CookieWrite): void {
    const maxAgeSeconds =
      this.#sendMaxAge && write.expires
        ? Math.max(0, (write.expires.getTime() - Date.now()) / 1000)
        : undefined
    res.appendHeader(
      'Set-Cookie',
      serializeCookie(this.name, this.wrap(id), this.cookie, { ...write, maxAgeSeconds }),
    )
  }

  clear(res: HttpResponseLike, write: CookieWrite): void {
    res.appendHeader(
      'Set-Cookie',
      serializeCookie(this.name, '', this.cookie, { secure: write.secure, expires: EPOCH }),
    )
  }
}

const EPOCH = new Date(0)

/** Options of {@link HeaderIdResolver}. */
export interface HeaderIdResolverOptions {
  /** Header name, both ways. Default: `'x-session-id'`. */
  name?: string
}

/**
 * The session id in a request header, for API and mobile clients (Spring Session's
 * `HeaderHttpSessionIdResolver`). The response carries the id in the same header, and an
 * empty value when the session ends.
 *
 * @example
 * ```ts
 * const manager = new SessionManager({ store, resolver: new HeaderIdResolver({ name: 'x-auth-token' }) })
 * ```
 */
export class HeaderIdResolver implements SessionIdResolver {
  readonly name: string

  constructor(options: HeaderIdResolverOptions = {}) {
    this.name = (options.name ?? 'x-session-id').toLowerCase()
  }

  read(req: HttpRequestLike): string | undefined {
    const value = headerOf(req.headers[this.name])?.trim()
    return value || undefined
  }

  write(res: HttpResponseLike, id: string): void {
    res.appendHeader(this.name, id)
  }

  clear(res: HttpResponseLike): void {
    res.appendHeader(this.name, '')
  }
}

const headerOf = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join('; ') : value)

function isSigner(value: unknown): value is Signer {
  return typeof value === 'object' && value !== null && typeof (value as Signer).sign === 'function'
}
