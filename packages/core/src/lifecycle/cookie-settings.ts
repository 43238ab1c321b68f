import type { CookieOptions } from '../cookie'
import { SessionError } from '../errors'

/**
 * One session's cookie settings. Stored as the reserved attribute `cookie`:
 * `originalMaxAge` plus the fields that differ from the binding's configured defaults
 * (explicit per-session overrides), never `expires`, so the stored value changes only when
 * the app changes a setting, and every binding reads it the same way.
 *
 * @example
 * ```ts
 * const settings: CookieSettings = { originalMaxAge: 3_600_000, path: '/', httpOnly: true, secure: true, sameSite: 'none' }
 * ```
 */
export interface CookieSettings extends CookieOptions {
  /** Lifetime in ms from each save or touch; `null` for a browser-session cookie. */
  originalMaxAge: number | null
}

/** Browsers cap a cookie's lifetime at 400 days (RFC 6265bis); so does sessionkit. */
export const MAX_COOKIE_AGE_MS = 400 * 86_400_000

const FIELDS = ['path', 'domain', 'httpOnly', 'secure', 'sameSite', 'partitioned', 'priority'] as const

/**
 * A cookie lifetime an app set, checked and clamped before anything is written: finite, at
 * least 1 ms, whole milliseconds, at most {@link MAX_COOKIE_AGE_MS}. `null` stays `null`.
 *
 * @example
 * ```ts
 * checkMaxAge(1e16) // 34560000000 (400 days)
 * checkMaxAge(NaN)  // throws SessionError INVALID_OPTIONS
 * ```
 */
export function checkMaxAge(ms: unknown): number | null {
  if (ms === null || ms === undefined) return null
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new SessionError(
      'INVALID_OPTIONS',
      `cookie.maxAge must be a finite number of milliseconds, got ${String(ms)}`,
    )
  }
  return Math.min(MAX_COOKIE_AGE_MS, Math.max(1, Math.floor(ms)))
}

/** The stored form of `settings`: `originalMaxAge` plus what differs from `defaults`. */
export function storedCookieSettings(
  settings: CookieSettings,
  defaults: CookieSettings,
): Record<string, unknown> {
  const stored: Record<string, unknown> = { originalMaxAge: settings.originalMaxAge }
  for (const key of FIELDS) {
    const value = settings[key]
    if (value !== defaults[key] && !(value === undefined && defaults[key] === undefined)) {
      stored[key] = value ?? null
    }
  }
  return stored
}

/**
 * A session's settings from the binding's defaults and a stored `cookie` attribute (ours, or
 * a record an express-session / @fastify/session app wrote: `expires` and unknown keys are
 * ignored, `null` means "unset").
 */
export function restoreCookieSettings(defaults: CookieSettings, stored: unknown): CookieSettings {
  const settings: CookieSettings = { ...defaults }
  if (typeof stored !== 'object' || stored === null) return settings
  const fields = stored as Record<string, unknown>
  if ('originalMaxAge' in fields) {
    const ms = fields.originalMaxAge
    settings.originalMaxAge = typeof ms === 'number' && Number.isFinite(ms) ? checkMaxAge(ms) : null
  }
  for (const key of FIELDS) {
    if (!(key in fields)) continue
    const value = fields[key]
    if (value === null) delete settings[key]
    else (settings as unknown as Record<string, unknown>)[key] = value
  }
  return settings
}

/**
 * The attributes to write for `settings` on a request that is (or is not) HTTPS: `'auto'`
 * Secure follows the request, `'auto'` SameSite is None over HTTPS and Lax otherwise.
 */
export function resolvedAttributes(settings: CookieSettings, secure: boolean): CookieOptions {
  const out: CookieOptions = {}
  for (const key of FIELDS) {
    const value = settings[key]
    if (value !== undefined && value !== null) (out as Record<string, unknown>)[key] = value
  }
  if (settings.secure === 'auto') out.secure = secure
  if (settings.sameSite === 'auto') out.sameSite = secure ? 'none' : 'lax'
  if (typeof out.sameSite === 'string') out.sameSite = out.sameSite.toLowerCase() as CookieOptions['sameSite']
  if (typeof out.priority === 'string') out.priority = out.priority.toLowerCase() as CookieOptions['priority']
  return out
}
