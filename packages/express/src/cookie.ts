import { type CookieOptions as CoreCookieOptions, serializeCookie } from '@sessionkit/core'
import { deprecate } from './warnings'

/** Cookie settings, as express-session's `cookie` option takes them. */
export interface CookieOptions {
  /** Lifetime in ms; `null`/absent gives a browser-session cookie. */
  maxAge?: number | null | undefined
  /** Fixed expiry date (prefer `maxAge`). */
  expires?: Date | null | undefined
  /** Default: `true`. */
  httpOnly?: boolean | undefined
  /** `'auto'`: Secure exactly when the request is HTTPS. Default: `false`. */
  secure?: boolean | 'auto' | undefined
  /** `true` is Strict; `'auto'` is None over HTTPS and Lax otherwise. Default: unset. */
  sameSite?: boolean | 'lax' | 'strict' | 'none' | 'auto' | undefined
  domain?: string | undefined
  /** Default: `'/'`. The middleware skips requests outside this path. */
  path?: string | undefined
  partitioned?: boolean | undefined
  priority?: 'low' | 'medium' | 'high' | undefined
  /** Kept for shape compatibility with stored cookies. */
  originalMaxAge?: number | null | undefined
}

/** The plain shape `cookie.data` / `toJSON()` give, which stores persist. */
export interface CookieData {
  originalMaxAge: number | null
  partitioned: boolean | undefined
  priority: 'low' | 'medium' | 'high' | undefined
  expires: Date | null | undefined
  secure: boolean | 'auto' | undefined
  httpOnly: boolean | undefined
  domain: string | undefined
  path: string | undefined
  sameSite: boolean | 'lax' | 'strict' | 'none' | 'auto' | undefined
}

const OPTIONAL = ['secure', 'domain', 'sameSite', 'partitioned', 'priority'] as const

/**
 * `req.session.cookie`: express-session's Cookie. `maxAge` reads the remaining ms and
 * writing it moves `expires`; writing `expires` also resets `originalMaxAge`.
 *
 * @example
 * ```ts
 * req.session.cookie.maxAge = 30 * 86_400_000 // "remember me"
 * req.session.cookie.maxAge // ms left, counting down
 * ```
 */
export class Cookie {
  path: string | undefined = '/'
  _expires: Date | null | undefined = null
  originalMaxAge: number | null = null
  httpOnly: boolean | undefined = true
  declare secure?: boolean | 'auto' | undefined
  declare domain?: string | undefined
  declare sameSite?: CookieOptions['sameSite']
  declare partitioned?: boolean | undefined
  declare priority?: CookieOptions['priority']

  constructor(options?: CookieOptions) {
    if (options !== undefined && options !== null) {
      if (typeof options !== 'object') throw new TypeError('argument options must be a object')
      for (const key in options) {
        if (key !== 'data') (this as Record<string, unknown>)[key] = (options as Record<string, unknown>)[key]
      }
    }
    if (this.originalMaxAge === undefined || this.originalMaxAge === null) {
      this.originalMaxAge = this.maxAge
    }
  }

  get expires(): Date | null | undefined {
    return this._expires
  }

  /** Sets the expiry and makes the remaining time the new `originalMaxAge`. */
  set expires(date: Date | null | undefined) {
    this._expires = date
    this.originalMaxAge = this.maxAge
  }

  /** Remaining lifetime in ms (negative once past), or `null` for a browser-session cookie. */
  get maxAge(): number | null {
    const expires = this._expires
    return expires instanceof Date ? expires.valueOf() - Date.now() : (expires ?? null)
  }

  set maxAge(ms: number | Date | null | undefined) {
    if (ms && typeof ms !== 'number' && !(ms instanceof Date)) {
      throw new TypeError('maxAge must be a number or Date')
    }
    if (ms instanceof Date) deprecate('maxAge as Date; pass number of milliseconds instead')
    this.expires = typeof ms === 'number' ? new Date(Date.now() + ms) : ms
    // express-session re-reads the remaining time here, which drifts by a millisecond when the
    // clock ticks in between; the exact value keeps the persisted settings stable.
    if (typeof ms === 'number') this.originalMaxAge = ms
  }

  /** What stores persist and what the Set-Cookie header is made from. */
  get data(): CookieData {
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this._expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
    }
  }

  /** A `Set-Cookie` value for `name=val` with these attributes. */
  serialize(name: string, val: string): string {
    return serializeCookie(name, val, attributesOf(this), {
      expires: this._expires ?? undefined,
      secure: this.secure === true,
    })
  }

  toJSON(): CookieData {
    return this.data
  }
}

/** The cookie's attributes in core's form (expiry is passed per write). */
export function attributesOf(cookie: Cookie): CoreCookieOptions {
  const sameSite = cookie.sameSite === 'auto' ? undefined : cookie.sameSite
  const options: CoreCookieOptions = {}
  if (cookie.path !== undefined) options.path = cookie.path
  if (cookie.domain !== undefined) options.domain = cookie.domain
  if (cookie.httpOnly) options.httpOnly = true
  if (cookie.secure) options.secure = true
  if (sameSite !== undefined) options.sameSite = typeof sameSite === 'string' ? lower(sameSite) : sameSite
  if (cookie.partitioned) options.partitioned = true
  if (cookie.priority !== undefined) options.priority = lower(cookie.priority)
  return options
}

const lower = <T extends string>(value: T) => value.toLowerCase() as T

/**
 * The per-session cookie settings sessionkit persists as the reserved `cookie` attribute:
 * `originalMaxAge` plus every field that differs from a fresh Cookie, never `expires`, so
 * the attribute only changes when the app changes the cookie's settings.
 */
export function cookieRecord(cookie: Cookie): Record<string, unknown> {
  const record: Record<string, unknown> = { originalMaxAge: cookie.originalMaxAge ?? null }
  if (cookie.path !== '/') record.path = cookie.path ?? null
  if (cookie.httpOnly !== true) record.httpOnly = cookie.httpOnly ?? false
  for (const key of OPTIONAL) if (cookie[key] !== undefined) record[key] = cookie[key]
  return record
}

/** A Cookie from a stored `cookie` attribute (ours or a legacy express-session record). */
export function cookieFromRecord(stored: unknown, expiresAt: number): Cookie {
  const fields =
    typeof stored === 'object' && stored !== null ? { ...(stored as Record<string, unknown>) } : {}
  const originalMaxAge = typeof fields.originalMaxAge === 'number' ? fields.originalMaxAge : null
  delete fields.expires
  delete fields._expires
  delete fields.maxAge
  const cookie = new Cookie(fields as CookieOptions)
  // The store's expiry is the truth; a browser-session cookie keeps no Expires.
  cookie._expires = originalMaxAge === null ? null : new Date(expiresAt)
  cookie.originalMaxAge = originalMaxAge
  return cookie
}
