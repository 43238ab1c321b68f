/**
 * A peer's commit rules, as data: when the end-of-request commit writes to the store and when
 * it sends the cookie. Each binding passes its peer's values; core applies them.
 *
 * @example
 * ```ts
 * // express-session with resave: false, saveUninitialized: false
 * const rules: CommitRules = { ...DEFAULT_RULES, resendModified: 'persistent' }
 * ```
 */
export interface CommitRules {
  /** Save (and cookie) a new session that holds no data. express-session and @fastify/session default true. */
  saveUninitialized: boolean
  /** Write an unmodified loaded session on every request (express-session `resave`): a forced touch. */
  resave: boolean
  /** Send the cookie on every response with a fresh expiry, once the store confirmed a touch or save. */
  rolling: boolean
  /**
   * How often a rolling session is touched: `'every-request'` (express-session touches every
   * unmodified session) or `'throttled'` (at most every `touchAfter`; the cookie is re-sent
   * with each touch).
   */
  rollingTouch: 'every-request' | 'throttled'
  /** koa-session `renew`: save and re-send when less than half of the idle timeout is left. */
  renew: boolean
  /**
   * When a modified, already-cookied session re-sends its cookie: `'always'` (@fastify/session,
   * koa-session) or `'persistent'` (express-session: only a cookie with an expiry).
   */
  resendModified: 'always' | 'persistent'
  /**
   * A session made by `regenerate` counts as "modified" even with no data, so it is saved and
   * cookied (express-session: the id changed); @fastify/session looks at the data only.
   */
  regeneratedCountsAsModified: boolean
  /** A change of the cookie's settings alone counts as "modified" (@fastify/session). */
  cookieCountsAsModified: boolean
  /**
   * A cookie that would be Secure on a plain-HTTP request: `'no-cookie'` saves but sends
   * nothing (express-session); `'no-save'` neither saves nor sends (@fastify/session), except
   * the cookie of a session the app saved explicitly; `'send'` saves and hands the cookie to
   * the framework anyway, whose cookie layer decides (Koa's `ctx.cookies` throws, and
   * koa-session lets that error fail the request).
   */
  secureOverHttp: 'no-cookie' | 'no-save' | 'send'
  /** Clear a presented cookie that names no session (or fails verification) when nothing was saved (@fastify/session). */
  clearUnknownId: boolean
  /** Clear the cookie when this request destroyed the session (koa-session; not the other two). */
  clearOnDestroy: boolean
  /** `secure: 'auto'` on a plain-HTTP request also means SameSite=Lax (@fastify/session). Default: false. */
  laxWhenAutoInsecure?: boolean
  /**
   * A session the app saved explicitly during the request (a save, also of unchanged data)
   * re-sends its cookie at commit, with a fresh expiry (koa-session: `save()`, `regenerate()`,
   * a new `maxAge`). Default: false (only a modified one, by `resendModified`).
   */
  resendExplicitSave?: boolean
  /**
   * An explicit save that failed (its error went to the app) counts as done: the commit writes
   * only if the data changed since (express-session). Default: false (the commit writes the
   * session again, and reports a second failure, as @fastify/session does).
   */
  failedSaveCountsAsSaved?: boolean
  /**
   * After an explicit save, the commit writes again only when the peer's save rule holds
   * anyway: changed since that save, `rolling` for the cookie's own id, `saveUninitialized`
   * for a new or re-issued id; otherwise it writes nothing and only re-sends the cookie
   * (@fastify/session). Default: false (the usual decision, a due touch included).
   */
  saveOnceAfterExplicitSave?: boolean
}

/** Neutral defaults: sessionkit's own behaviour when no peer is imitated. */
export const DEFAULT_RULES: CommitRules = {
  saveUninitialized: false,
  resave: false,
  rolling: false,
  rollingTouch: 'every-request',
  renew: false,
  resendModified: 'always',
  regeneratedCountsAsModified: true,
  cookieCountsAsModified: true,
  secureOverHttp: 'no-cookie',
  clearUnknownId: true,
  clearOnDestroy: true,
}
