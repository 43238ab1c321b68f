import type { IncomingHttpHeaders } from 'node:http'
import { SessionError } from './errors'

/** Attributes of the session cookie. */
export interface CookieOptions {
  path?: string
  domain?: string
  httpOnly?: boolean
  /** `'auto'`: Secure exactly when the request arrived over HTTPS. */
  secure?: boolean | 'auto'
  /** `true` means Strict; `'auto'` means None over HTTPS and Lax otherwise. */
  sameSite?: boolean | 'lax' | 'strict' | 'none' | 'auto'
  partitioned?: boolean
  priority?: 'low' | 'medium' | 'high'
}

/** What varies per response: expiry, and how `'auto'` attributes resolve. */
export interface CookieWrite {
  /** Absent: a browser-session cookie. */
  expires?: Date
  /** Max-Age in seconds, for frameworks whose peer sends it (Expires is sent as well). */
  maxAgeSeconds?: number
  /** Whether the request arrived over HTTPS. */
  secure: boolean
}

// RFC 6265 token characters for names, cookie-octets (after encoding) for values.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const DOMAIN_OR_PATH = /^[\u0021-\u003A\u003C-\u007E]*$/

/**
 * A `Set-Cookie` header value. The value is URI-encoded as `cookie.serialize` does, so the
 * same cookie reads back in express-session, @fastify/cookie and Koa.
 *
 * @example
 * ```ts
 * serializeCookie('sid', 's:abc.def', { httpOnly: true, path: '/' }, { secure: false })
 * // 'sid=s%3Aabc.def; Path=/; HttpOnly'
 * ```
 */
export function serializeCookie(
  name: string,
  value: string,
  options: CookieOptions,
  write: CookieWrite,
): string {
  if (!TOKEN.test(name)) throw new SessionError('INVALID_OPTIONS', `invalid cookie name: ${name}`)
  let out = `${name}=${encodeURIComponent(value)}`
  if (write.maxAgeSeconds !== undefined) out += `; Max-Age=${Math.floor(write.maxAgeSeconds)}`
  if (options.domain) {
    if (!DOMAIN_OR_PATH.test(options.domain))
      throw new SessionError('INVALID_OPTIONS', 'invalid cookie domain')
    out += `; Domain=${options.domain}`
  }
  if (options.path) {
    if (!DOMAIN_OR_PATH.test(options.path)) throw new SessionError('INVALID_OPTIONS', 'invalid cookie path')
    out += `; Path=${options.path}`
  }
  if (write.expires) out += `; Expires=${write.expires.toUTCString()}`
  if (options.httpOnly) out += '; HttpOnly'
  const secure = options.secure === 'auto' ? write.secure : options.secure
  if (secure) out += '; Secure'
  if (options.partitioned) out += '; Partitioned'
  if (options.priority) out += `; Priority=${capitalize(options.priority)}`
  const sameSite =
    options.sameSite === 'auto'
      ? write.secure
        ? 'none'
        : 'lax'
      : options.sameSite === true
        ? 'strict'
        : options.sameSite
  if (sameSite) out += `; SameSite=${capitalize(sameSite)}`
  return out
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase()

/**
 * The first value of cookie `name` in a `Cookie` header, URI-decoded; `undefined` when absent
 * or undecodable.
 *
 * @example
 * ```ts
 * readCookie('a=1; sid=s%3Aabc', 'sid') // 's:abc'
 * ```
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  let start = 0
  while (start < header.length) {
    let end = header.indexOf(';', start)
    if (end === -1) end = header.length
    const eq = header.indexOf('=', start)
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) {
      let raw = header.slice(eq + 1, end).trim()
      if (raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2) raw = raw.slice(1, -1)
      try {
        return raw.includes('%') ? decodeURIComponent(raw) : raw
      } catch {
        return undefined
      }
    }
    start = end + 1
  }
  return undefined
}

/**
 * Whether a request arrived over HTTPS. Forwarded headers count only when `trustProxy` is
 * true, since any client can send them.
 *
 * @example
 * ```ts
 * isSecureRequest(req, true) // honours X-Forwarded-Proto: https from a load balancer
 * ```
 */
export function isSecureRequest(
  req: { headers: IncomingHttpHeaders; socket?: object | null },
  trustProxy: boolean,
): boolean {
  if (req.socket && (req.socket as { encrypted?: boolean }).encrypted) return true
  if (!trustProxy) return false
  const proto = req.headers['x-forwarded-proto']
  const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase()
  return first === 'https'
}
