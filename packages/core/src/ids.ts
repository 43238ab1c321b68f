import { randomBytes } from 'node:crypto'

/**
 * A new session id: 32 random bytes (256 bits), base64url, 43 characters.
 *
 * @example
 * ```ts
 * const id = generateSessionId() // 'q2Vh…' (43 chars)
 * ```
 */
export function generateSessionId(): string {
  return randomBytes(32).toString('base64url')
}

// Wide enough for ids the peers issued (express-session and @fastify/session: 32 chars,
// koa-session: a 36-char UUID) so migrating apps keep their users; narrow enough that a
// hostile cookie never reaches a store.
const ID_PATTERN = /^[A-Za-z0-9_-]{16,128}$/

/**
 * True when `id` has the length and alphabet of a session id. Checked before any store
 * round trip, so a malformed id costs nothing.
 *
 * @example
 * ```ts
 * isValidSessionId('../../etc/passwd') // false
 * ```
 */
export function isValidSessionId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id)
}
