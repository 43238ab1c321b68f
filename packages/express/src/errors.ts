import {
  SessionError as CoreSessionError,
  type SessionErrorCode as CoreSessionErrorCode,
  isSessionError as isCoreSessionError,
} from '@sessionkit/core'

// Core's error class and check, declared here rather than re-exported (`export ... from`): the
// CommonJS declarations end in `export =`, which allows no other export statement, and the
// declaration bundler hoists a re-export of an external package to one.

/** What failed: `STORE_UNAVAILABLE` (503), `SESSION_TOO_LARGE` (413), `INVALID_OPTIONS`, ... */
export type SessionErrorCode = CoreSessionErrorCode

/**
 * sessionkit's one error class (the same class as `@sessionkit/core`'s): `code` says what
 * failed, `statusCode` what to answer.
 */
export const SessionError: typeof CoreSessionError = CoreSessionError
export type SessionError = CoreSessionError

/**
 * True when `err` is a sessionkit error (from any copy of the package), optionally of one code.
 *
 * @example
 * ```ts fragment
 * if (isSessionError(err, 'STORE_UNAVAILABLE')) return res.status(503).end()
 * ```
 */
export const isSessionError: typeof isCoreSessionError = isCoreSessionError
