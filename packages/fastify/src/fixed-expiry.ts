import type { CookieInstruction, RequestLifecycle } from '@sessionkit/core'
import type { CookieOptions, SessionCookie } from './cookie'

/**
 * How far a session's creation plus its stored lifetime may be from the configured date and
 * still count as made under it: the lifetime is measured when the request begins, the
 * creation stamped during it (a regenerate waits for the store's delete in between).
 */
const SLACK_MS = 5_000

/** A fixed `expires` without `maxAge` in cookie options: the date (ms), as the peer reads it. */
export function fixedExpiryOf(options: CookieOptions): number | undefined {
  if (!options.expires || options.maxAge || options.originalMaxAge) return undefined
  const date = new Date(options.expires).getTime()
  return Number.isNaN(date) ? undefined : date
}

/**
 * @fastify/session keeps a fixed `expires` as the cookie's date on every response and drops
 * the session once it passed. Core keeps lifetimes, not dates (the stored `cookie` holds
 * `originalMaxAge`, the time left when the session was made), so a rolling touch would move
 * the date on by that much each time. This holds the date for a session made under it: its
 * cookie's `expires`, the Expires sent, and the end of the session.
 */
export class FixedExpiry {
  /** The session's lifetime that stands for the date; another one (the app set `maxAge`) ends the hold. */
  readonly #maxAge: number | null

  private constructor(
    readonly date: number,
    maxAge: number | null,
  ) {
    this.#maxAge = maxAge
  }

  /**
   * The hold for this request's session, when its cookie options fix a date and the session
   * was made under it: its lifetime, counted from its creation (which a regenerate keeps),
   * ends at the date. A session made once the date passed has core's shortest lifetime.
   */
  static of(date: number | undefined, lifecycle: RequestLifecycle): FixedExpiry | undefined {
    const maxAge = lifecycle.cookie.originalMaxAge
    if (date === undefined || maxAge === null) return undefined
    const madeUnder = Math.abs(lifecycle.session.createdAt + maxAge - date) <= SLACK_MS
    const madeAfter = lifecycle.isNew && maxAge === 1 && date <= Date.now()
    return madeUnder || madeAfter ? new FixedExpiry(date, maxAge) : undefined
  }

  /** A loaded session past its date: the peer regenerates it on load. */
  passed(lifecycle: RequestLifecycle): boolean {
    return !lifecycle.isNew && this.date <= Date.now()
  }

  /** True while the cookie's lifetime is the one that stands for the date. */
  holds(cookie: SessionCookie): boolean {
    return cookie.originalMaxAge === this.#maxAge
  }

  /** Puts the date on the session's cookie, as the peer's `Cookie` built from `expires`. */
  hold(cookie: SessionCookie): void {
    if (!this.holds(cookie)) return
    cookie.expires = new Date(this.date)
    cookie.originalExpires = new Date(this.date)
  }

  /** The Set-Cookie with the date as its Expires, unless the app gave the session another lifetime. */
  cap(instruction: CookieInstruction | undefined, cookie: SessionCookie): CookieInstruction | undefined {
    if (instruction?.action !== 'set' || !instruction.expires || !this.holds(cookie)) return instruction
    return { ...instruction, expires: new Date(this.date), maxAgeMs: Math.max(0, this.date - Date.now()) }
  }
}
