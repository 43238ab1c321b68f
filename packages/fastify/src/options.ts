import { Signer as CookieSignerClass } from '@fastify/cookie'
import {
  type CallbackStore,
  type Codec,
  type SessionStore as CoreSessionStore,
  RecentlySigned,
  type Signer,
} from '@sessionkit/core'
import type { FastifyRequest } from 'fastify'
import type { CookieOptions } from './cookie'
import type { SessionStore } from './types'

/**
 * What a custom signer's `unsign` answers, as @fastify/cookie's `Signer` does.
 *
 * @example
 * ```ts
 * const result: UnsignResult = { valid: true, renew: false, value: 'the-id' }
 * ```
 */
export interface UnsignResult {
  valid: boolean
  /** Signed with a secret other than the current one: re-issue the cookie. */
  renew: boolean
  value: string | null
}

/**
 * A custom signer, e.g. @fastify/cookie's `Signer` instance.
 *
 * @example
 * ```ts
 * import { Signer } from '@fastify/cookie'
 * app.register(fastifySession, { secret: new Signer([current, previous], 'sha512') })
 * ```
 */
export interface CookieSigner {
  sign(value: string): string
  unsign(signed: string): UnsignResult
}

/**
 * Options of the plugin: @fastify/session's, plus sessionkit's expiry settings.
 *
 * @example
 * ```ts
 * const options: FastifySessionOptions = { secret: process.env.SECRET!, cookie: { secure: 'auto' }, touchAfter: 60_000 }
 * ```
 */
export interface FastifySessionOptions {
  /** A string of 32+ characters, a list (sign with the first, verify with any), or a signer. */
  secret: string | (string | Buffer)[] | CookieSigner
  /** HMAC algorithm of the cookie signature. Default: `'sha256'`. */
  algorithm?: string
  /** Default: `'sessionId'`. */
  cookieName?: string
  /** Put before the signed id, e.g. `'s:'` to share cookies with express-session. Default: `''`. */
  cookiePrefix?: string
  /** Default: `{ path: '/', httpOnly: true, secure: true }`; `maxAge` in ms. */
  cookie?: CookieOptions
  /** A sessionkit store, or an express-session/@fastify/session callback store. Default: `MemoryStore`. */
  store?: CoreSessionStore | SessionStore | CallbackStore
  /** Save new sessions that hold no data. Default: true. */
  saveUninitialized?: boolean
  /** Send the cookie on every response, extending its expiry. Default: true. */
  rolling?: boolean
  /** Ids of new sessions. Default: 32 random bytes, base64url. */
  idGenerator?: (request?: FastifyRequest) => string
  /** An unchanged session's store expiry is extended at most this often (ms). Default: core's. */
  touchAfter?: number
  /** Hard cap on a session's life from creation (ms). Default: none. */
  absoluteTimeout?: number
  /**
   * Server-side idle timeout (ms) of a session whose cookie has no `maxAge` (a browser-session
   * cookie). Default: a connect store's own numeric `ttl` (seconds), else one day.
   */
  browserSessionTimeout?: number
  /** A session whose encoded attributes exceed this many bytes fails to save (413). Default: 1 MiB. */
  maxSizeBytes?: number
  /** How attribute values are encoded for the store. Default: JSON. */
  codec?: Codec
}

/** The same errors, with the same messages, as @fastify/session gives for a bad `secret`. */
export function checkSecret(secret: unknown): Error | undefined {
  if (typeof secret === 'string') {
    if (secret.length < 32) return new Error('the secret must have length 32 or greater')
  } else if (Array.isArray(secret)) {
    if (secret.length === 0) return new Error('at least one secret is required')
  } else if (!isCookieSigner(secret)) {
    return new Error(
      'the secret option is required, and must be a String, Array of Strings, or a signer object with .sign and .unsign methods',
    )
  }
  return undefined
}

function isCookieSigner(value: unknown): value is CookieSigner {
  const signer = value as CookieSigner | null
  return !!signer && typeof signer.sign === 'function' && typeof signer.unsign === 'function'
}

/**
 * A core signer for the `secret` option. A custom signer is adapted (its `renew` shows up as a
 * signature that differs from `sign(id)`, so the cookie is re-issued). A secret array is
 * watched: @fastify/session lets apps rotate by mutating it at runtime.
 */
export function signerFor(secret: FastifySessionOptions['secret'], algorithm: string): Signer {
  // One HMAC per request: the id a request presented (verified with the current secret) is
  // re-sent as it came, not signed again, both for the renew check and the rolling cookie.
  const recent = new RecentlySigned()
  const verified = (signed: string, result: UnsignResult | undefined): string | false => {
    if (!result?.valid || typeof result.value !== 'string') return false
    if (!result.renew) recent.remember(result.value, signed)
    return result.value
  }
  if (isCookieSigner(secret) && !Array.isArray(secret)) {
    return {
      sign: (value) => recent.get(value) ?? secret.sign(value),
      unsign: (signed) => verified(signed, secret.unsign(signed)),
    }
  }
  // @fastify/cookie's own Signer (its validation errors included), made again when the app
  // mutates the secret array, so the first secret signs, as the peer lets apps rotate.
  const list = Array.isArray(secret) ? secret : [secret]
  const make = (keys: (string | Buffer)[]) => new CookieSignerClass(keys as string[], algorithm)
  let snapshot = [...list]
  let signer = make(snapshot)
  const current = () => {
    if (list.length !== snapshot.length || list.some((key, i) => key !== snapshot[i])) {
      snapshot = [...list]
      signer = make(snapshot)
      recent.clear()
    }
    return signer
  }
  return {
    sign(value) {
      const cookieSigner = current()
      return recent.get(value) ?? cookieSigner.sign(value)
    },
    unsign: (signed) => verified(signed, current().unsign(signed)),
  }
}

/** The plugin's cookie options with @fastify/session's defaults filled in. */
export function cookieDefaults(cookie: CookieOptions | undefined): CookieOptions {
  const out: CookieOptions = { ...cookie }
  if (out.secure === undefined) out.secure = true
  return out
}
