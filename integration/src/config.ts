/**
 * The one configuration every instance behind the balancer shares, whatever its framework:
 * the same cookie name, the same secret list and the same signed cookie form, so a cookie
 * issued by one instance is read by every other. See integration/README.md.
 */
export const SHARED_CONFIG = {
  /** express-session's default name; Fastify and Koa are told to use it too. */
  cookieName: 'connect.sid',
  /** Sign with the first, verify with any: rotating a secret logs nobody out. */
  secrets: ['integration secret, current, at least 32 chars', 'integration secret, previous, 32 chars+'],
  /** express-session's signed form `s:<id>.<hmac-sha256-base64>`; Fastify gets it via `cookiePrefix`. */
  cookiePrefix: 's:',
  /** Idle timeout of every session (the cookie's maxAge). */
  maxAgeMs: 30 * 60_000,
} as const

/** Session attributes the apps keep, one top-level attribute each so saves merge per attribute. */
export const ATTRIBUTE_PREFIX = 'x_'
