import { randomFillSync } from 'node:crypto'
import { SessionError } from './errors'

const ID_BYTES = 24
// Random bytes for 128 ids, drawn at once: one CSPRNG call per 128 new sessions instead of
// one per session (the call's fixed cost dominates for 24 bytes). Each byte is used once.
const pool = Buffer.allocUnsafe(ID_BYTES * 128)
let offset = pool.length

/**
 * A new session id: 24 random bytes (192 bits), base64url, 32 characters: the form
 * express-session and @fastify/session issue, so apps and log parsers matching `[\w-]{32}`
 * keep working.
 *
 * @example
 * ```ts
 * const id = generateSessionId() // 'q2Vh…' (32 chars)
 * ```
 */
export function generateSessionId(): string {
  if (offset + ID_BYTES > pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES)
  // Zeroed once used: the pool never holds an id already handed out.
  pool.fill(0, offset, offset + ID_BYTES)
  offset += ID_BYTES
  return id
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

// Ids from an app's own generator (`genid`, `idGenerator`): any visible ASCII, as the peers
// put them in a cookie as they come (URI-encoded); the signature vouches for them on return.
const CUSTOM_ID_PATTERN = /^[\u0021-\u007e]{1,256}$/

/**
 * True when `id` is acceptable from a custom id generator: 1-256 visible ASCII characters.
 * One rule for every binding.
 *
 * @example
 * ```ts
 * isValidCustomId('user-42:9f1c') // true
 * isValidCustomId('') // false
 * ```
 */
export function isValidCustomId(id: unknown): id is string {
  return typeof id === 'string' && CUSTOM_ID_PATTERN.test(id)
}

// A principal becomes a key in every store's index (a Redis key, a DynamoDB GSI partition key
// of at most 2048 bytes). Lone surrogates are stored as U+FFFD by some backends, so a
// principal that does not round-trip exactly could never be found again to revoke.
const MAX_PRINCIPAL_BYTES = 1024
// With the `u` flag a pair is one code point, so this matches only unpaired halves.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

/**
 * True when `principal` can name a session's owner on every store: a non-empty, well-formed
 * (no lone surrogate) string of at most 1024 UTF-8 bytes.
 *
 * @example
 * ```ts
 * isValidPrincipal('alice') // true
 * isValidPrincipal('\uD800') // false: a lone surrogate
 * ```
 */
export function isValidPrincipal(principal: unknown): principal is string {
  return (
    typeof principal === 'string' &&
    principal !== '' &&
    !LONE_SURROGATE.test(principal) &&
    (principal.length * 3 <= MAX_PRINCIPAL_BYTES || Buffer.byteLength(principal) <= MAX_PRINCIPAL_BYTES)
  )
}

/** Throws INVALID_PRINCIPAL unless {@link isValidPrincipal}. */
export function assertPrincipal(principal: unknown): asserts principal is string {
  if (isValidPrincipal(principal)) return
  const shown =
    typeof principal === 'string' ? `a string of ${principal.length} characters` : typeof principal
  throw new SessionError(
    'INVALID_PRINCIPAL',
    `a principal must be a non-empty, well-formed string (no lone surrogates) of at most ${MAX_PRINCIPAL_BYTES} UTF-8 bytes; got ${shown}`,
  )
}
