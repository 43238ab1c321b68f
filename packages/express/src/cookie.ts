import {
  type CookieSettings,
  type CookieOptions as CoreCookieOptions,
  resolvedAttributes,
  serializeCookie,
} from '@sessionkit/core'
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
  return resolvedAttributes(settingsOf(cookie), cookie.secure === true)
}

/**
 * Core's per-session settings for a Cookie. `'auto'` values the middleware resolved for this
 * request are reported as `'auto'` again, so the session keeps following the request.
 */
export function settingsOf(cookie: Cookie, defaults?: CookieSettings, secure?: boolean): CookieSettings {
  // An invalid expiry (`expires = new Date(NaN)`, `maxAge = NaN`) is stored as a browser-session
  // one, as express-session's stores keep it (`expires: null`); the cookie itself is never
  // sent (see `invalidExpiry`). A finite but huge `maxAge` (an invalid Date too) is clamped by core.
  const originalMaxAge =
    (cookie._expires instanceof Date && !invalidExpiry(cookie)) || typeof cookie._expires === 'number'
      ? cookie.originalMaxAge
      : null
  const settings: CookieSettings = { originalMaxAge }
  for (const key of FIELDS) {
    const value = cookie[key]
    if (value !== undefined && value !== null) (settings as unknown as Record<string, unknown>)[key] = value
  }
  if (defaults && secure !== undefined) {
    if (defaults.secure === 'auto' && settings.secure === secure) settings.secure = 'auto'
    if (defaults.sameSite === 'auto' && settings.sameSite === (secure ? 'none' : 'lax'))
      settings.sameSite = 'auto'
  }
  return settings
}

/**
 * express-session's error (from `cookie.serialize`) for a cookie whose expiry is an invalid
 * Date but was not meant as a huge `maxAge`: the response goes on without the cookie and the
 * error reaches `next(err)`, as with the peer. `undefined` when the expiry is fine.
 */
export function invalidExpiry(cookie: Cookie): TypeError | undefined {
  const expires = cookie._expires
  if (expires instanceof Date && Number.isNaN(expires.getTime()) && !Number.isFinite(cookie.originalMaxAge))
    return new TypeError('option expires is invalid')
  return undefined
}

const FIELDS = ['path', 'domain', 'httpOnly', 'secure', 'sameSite', 'partitioned', 'priority'] as const

/** Core's settings for the `cookie` option: express-session's defaults (Path=/, HttpOnly). */
export function settingsFromOptions(options: CookieOptions): CookieSettings {
  const cookie = new Cookie(options)
  const settings = settingsOf(cookie)
  if (invalidExpiry(cookie)) withInvalidExpiry.add(settings)
  return settings
}

// Settings made from a `cookie` option whose `expires` is an invalid Date.
const withInvalidExpiry = new WeakSet<CookieSettings>()

/** The `cookie` option these settings came from has an invalid `expires`: new sessions carry it. */
export function hasInvalidExpiry(settings: CookieSettings): boolean {
  return withInvalidExpiry.has(settings)
}

/**
 * `req.session.cookie` for a session's settings, as express-session builds it: `'auto'`
 * resolved for this request, `expires` the store's expiry (or now + maxAge for a new one).
 */
export function cookieFromSettings(settings: CookieSettings, expiresAt: number, secure: boolean): Cookie {
  const { originalMaxAge, ...attributes } = settings
  const cookie = new Cookie(attributes as CookieOptions)
  if (attributes.secure === 'auto') cookie.secure = secure
  if (attributes.sameSite === 'auto') cookie.sameSite = secure ? 'none' : 'lax'
  cookie._expires = originalMaxAge === null ? null : new Date(expiresAt)
  cookie.originalMaxAge = originalMaxAge
  return cookie
}
