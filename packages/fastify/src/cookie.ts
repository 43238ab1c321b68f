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

  set maxAge(ms: number) {
    this.#expires = new Date(Date.now() + ms)
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

const KEPT = ['sameSite', 'secure', 'path', 'httpOnly', 'domain', 'partitioned', 'originalExpires'] as const

/**
 * The `cookie` attribute kept in the store: `originalMaxAge` plus whatever differs from the
 * plugin's defaults, never `expires`, so it changes only when the app changes the settings.
 */
export function persistedCookie(cookie: SessionCookie, base: SessionCookie): Record<string, unknown> {
  const out: Record<string, unknown> = { originalMaxAge: cookie.originalMaxAge }
  const current = cookie.toJSON()
  const defaults = base.toJSON()
  for (const key of KEPT) {
    if (JSON.stringify(current[key]) !== JSON.stringify(defaults[key])) out[key] = current[key]
  }
  return out
}

/** Per-session cookie options from the plugin's and a stored `cookie` attribute. */
export function restoredCookieOptions(base: CookieOptions, stored: unknown): CookieOptions {
  if (!stored || typeof stored !== 'object') return { ...base }
  // The store's expiry is the truth; a stored `expires` (legacy records) is stale by design.
  const { expires: _expires, originalExpires, ...rest } = stored as CookieOptions
  const options: CookieOptions = { ...base, ...rest }
  if (originalExpires) options.expires = originalExpires
  if (options.originalMaxAge != null) options.maxAge = options.originalMaxAge
  delete options.originalMaxAge
  return options
}
