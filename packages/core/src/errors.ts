/**
 * Every failure sessionkit reports carries one of these codes. Check errors by code
 * (`isSessionError(err, 'STORE_UNAVAILABLE')`), never by `instanceof` alone: an app can load
 * two copies of core (ESM and CJS), and the brand below works across both.
 */
export type SessionErrorCode =
  /** The store could not be reached or did not answer in time. Maps to HTTP 503. */
  | 'STORE_UNAVAILABLE'
  /** The store answered with a failure that is not an outage. Maps to HTTP 500. */
  | 'STORE_ERROR'
  /** A record in the store could not be read (foreign, truncated or hostile bytes). */
  | 'CORRUPT_RECORD'
  /** An attribute value could not be encoded by the codec. */
  | 'ENCODE_FAILED'
  /** The encoded session exceeds `maxSizeBytes`, or a backend's own item limit. */
  | 'SESSION_TOO_LARGE'
  /** A session id failed validation (length or alphabet). */
  | 'INVALID_ID'
  /** The session no longer exists in the store (deleted or expired), e.g. on reload. */
  | 'SESSION_NOT_FOUND'
  /** New ids kept colliding with existing sessions: the id generator is broken. */
  | 'ID_COLLISION'
  /** The store lacks a capability the call needs (e.g. a principal index). */
  | 'NOT_SUPPORTED'
  /** Options given to a constructor or middleware are invalid. */
  | 'INVALID_OPTIONS'
  /** A principal is not a non-empty, well-formed string of at most 1024 UTF-8 bytes. */
  | 'INVALID_PRINCIPAL'

const BRAND = Symbol.for('sessionkit.SessionError')

/**
 * The one error class of sessionkit.
 *
 * @example
 * ```ts
 * try { await repository.save(session) }
 * catch (err) { if (isSessionError(err, 'SESSION_TOO_LARGE')) res.status(413) }
 * ```
 */
export class SessionError extends Error {
  /**
   * What failed, to branch on: `STORE_UNAVAILABLE` (503), `SESSION_TOO_LARGE` (413),
   * `INVALID_OPTIONS`, `NOT_SUPPORTED`, ... (see {@link SessionErrorCode}).
   */
  readonly code: SessionErrorCode
  /** HTTP status a framework should answer with when this error reaches its handler. */
  readonly statusCode: number
  readonly [BRAND] = true

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SessionError'
    this.code = code
    this.statusCode = code === 'STORE_UNAVAILABLE' ? 503 : code === 'SESSION_TOO_LARGE' ? 413 : 500
  }

  /** The same as {@link isSessionError}, as a static for `SessionError.is(err)`. */
  static is(err: unknown, code?: SessionErrorCode): err is SessionError {
    return isSessionError(err, code)
  }
}

/**
 * True when `err` is a sessionkit error (from any copy of the package), optionally of one code.
 *
 * @example
 * ```ts
 * if (isSessionError(err, 'STORE_UNAVAILABLE')) return res.status(503).end()
 * ```
 */
export function isSessionError(err: unknown, code?: SessionErrorCode): err is SessionError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as Record<symbol, unknown>)[BRAND] === true &&
    (code === undefined || (err as SessionError).code === code)
  )
}
