import type { CookieSettings } from '@sessionkit/core'

/**
 * Cookie options of the plugin and of one session, as @fastify/session takes them. `maxAge` is
 * in milliseconds (the Expires attribute is computed from it), unlike @fastify/cookie's seconds.
 *
 * @example
 * ```ts
 * app.register(fastifySession, { secret, cookie: { secure: 'auto', maxAge: 7 * 86_400_000 } })
 * ```
 */
export interface CookieOptions {
  /** Milliseconds from now; sets `expires`. */
  maxAge?: number
  expires?: Date | string | number | null
  /** Default: true. */
  httpOnly?: boolean
  /** Default: true. `'auto'`: Secure over HTTPS only (and SameSite=Lax over HTTP). */
  secure?: boolean | 'auto'
  sameSite?: boolean | 'lax' | 'strict' | 'none'
  domain?: string
  /** Default: `'/'`. Requests outside this path get no session. */
  path?: string
  partitioned?: boolean
  /** Internal to persisted cookies; accepted as @fastify/session accepts it. */
  originalMaxAge?: number | null
  originalExpires?: Date | string | null
}

/**
 * What {@link SessionCookie.toJSON} returns: the options passed to `reply.setCookie`.
 *
 * @example
 * ```ts
 * const { expires, originalMaxAge } = request.session.cookie.toJSON()
 * ```
 */
export interface SessionCookieJSON {
  expires: Date | null
  originalMaxAge: number | null
  originalExpires: Date | undefined
  sameSite: boolean | 'lax' | 'strict' | 'none' | null
  secure: boolean | null
  path: string
  httpOnly: boolean
  domain: string | null
  partitioned: boolean | undefined
}

/**
 * The subset of a request the cookie reads (`secure: 'auto'`).
 *
 * @example
 * ```ts
 * new SessionCookie({ secure: 'auto' }, { protocol: 'https' }).secure // true
 * ```
 */
export interface ProtocolSource {
  protocol?: string
}

/**
 * `request.session.cookie`: the session cookie's attributes, with `maxAge` in ms computed
 * from `expires`. Behaves as @fastify/session's `Cookie`, which mirrors express-session's.
 *
 * @example
 * ```ts
 * request.session.cookie.maxAge = 30 * 86_400_000 // "remember me": kept with the session
 * ```
 */
export class SessionCookie {
  path: string
  secure: boolean | 'auto' | null
  sameSite: boolean | 'lax' | 'strict' | 'none' | null
  domain: string | null
  httpOnly: boolean
  partitioned: boolean | undefined
  originalMaxAge: number | null = null
  originalExpires?: Date
  #expires: Date | null = null

  constructor(options: CookieOptions, request: ProtocolSource) {
    const maxAge = options.originalMaxAge || options.maxAge || null
    this.path = options.path || '/'
    this.secure = options.secure ?? null
    this.sameSite = options.sameSite || null
    this.domain = options.domain || null
    this.httpOnly = options.httpOnly !== undefined ? options.httpOnly : true
    this.partitioned = options.partitioned
    if (options.expires) this.originalExpires = new Date(options.expires)
    // A maxAge wins over expires, as in @fastify/session.
    if (maxAge) this.maxAge = maxAge
    else if (options.expires) this.expires = new Date(options.expires)
    if (this.secure === 'auto') {
      this.secure = request.protocol === 'https'
      if (!this.secure) this.sameSite = 'lax'
    }
  }

  get expires(): Date | null {
    return this.#expires
  }

  set expires(date: Date | null) {
    this.#expires = date
  }

  /** Milliseconds until `expires`; `null` for a browser-session cookie. */
  get maxAge(): number | null {
    return this.#expires ? this.#expires.getTime() - Date.now() : null
  }

  /** `null` makes a browser-session cookie, as express-session's (the peer's expires at once). */
  set maxAge(ms: number | null) {
    this.#expires = ms === null ? null : new Date(Date.now() + ms)
    this.originalMaxAge = ms
  }

  toJSON(): SessionCookieJSON {
    return {
      expires: this.#expires,
      originalMaxAge: this.originalMaxAge,
      originalExpires: this.originalExpires,
      sameSite: this.sameSite,
      secure: this.secure as boolean | null,
      path: this.path,
      httpOnly: this.httpOnly,
      domain: this.domain,
      partitioned: this.partitioned,
    }
  }
}

const FIELDS = ['path', 'domain', 'httpOnly', 'secure', 'sameSite', 'partitioned'] as const

/**
 * Core's settings for the plugin's cookie options: @fastify/session's defaults (Path=/,
 * HttpOnly, Secure), `maxAge` in ms; a fixed `expires` without `maxAge` counts down from now.
 */
export function settingsFromOptions(options: CookieOptions): CookieSettings {
  const maxAge = options.originalMaxAge || options.maxAge || null
  const expires = options.expires ? new Date(options.expires).getTime() - Date.now() : null
  const settings: CookieSettings = {
    originalMaxAge: maxAge ?? expires,
    path: options.path || '/',
    httpOnly: options.httpOnly !== undefined ? options.httpOnly : true,
    secure: options.secure ?? true,
  }
  if (options.sameSite) settings.sameSite = options.sameSite
  if (options.domain) settings.domain = options.domain
  if (options.partitioned !== undefined) settings.partitioned = options.partitioned
  return settings
}

/** Core's per-session settings for a SessionCookie; `'auto'` values resolved for this request come back as `'auto'`. */
export function settingsOf(cookie: SessionCookie, defaults: CookieSettings, secure: boolean): CookieSettings {
  const settings: CookieSettings = { originalMaxAge: cookie.originalMaxAge }
  for (const key of FIELDS) {
    const value = cookie[key]
    if (value !== undefined && value !== null) (settings as unknown as Record<string, unknown>)[key] = value
  }
  if (defaults.secure === 'auto' && settings.secure === secure) {
    settings.secure = 'auto'
    // The Lax that 'auto' forces over plain HTTP is not the session's own setting.
    if (!secure && settings.sameSite === 'lax') {
      if (defaults.sameSite === undefined) delete settings.sameSite
      else settings.sameSite = defaults.sameSite
    }
  }
  return settings
}

/** `request.session.cookie` for a session's settings; `expiresAt` is the store's expiry of a loaded session. */
export function cookieFromSettings(
  settings: CookieSettings,
  request: ProtocolSource,
  expiresAt: number | undefined,
): SessionCookie {
  const { originalMaxAge, sameSite } = settings
  // Field by field (no rest/spread copies): the settings' keys are known.
  const options: CookieOptions = {
    path: settings.path,
    domain: settings.domain,
    httpOnly: settings.httpOnly,
    secure: settings.secure,
    sameSite: sameSite === 'auto' ? undefined : sameSite,
    partitioned: settings.partitioned,
  }
  // A loaded session's expiry is the store's: no "now + maxAge" made only to be replaced.
  const loaded = originalMaxAge !== null && expiresAt !== undefined
  if (originalMaxAge !== null && !loaded) options.maxAge = originalMaxAge
  const cookie = new SessionCookie(options, request)
  if (loaded) {
    if (originalMaxAge) cookie.originalMaxAge = originalMaxAge
    cookie.expires = new Date(expiresAt)
    // The peer's Cookie keeps the stored expiry it was loaded with as `originalExpires`.
    cookie.originalExpires = new Date(expiresAt)
  }
  return cookie
}
