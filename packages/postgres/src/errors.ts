import { isNetworkError, isSessionError, SessionError } from '@sessionkit/core'

/**
 * SQLSTATE classes and codes that mean "the database is not serving now", as opposed to a bug
 * or a bad statement (PostgreSQL's Appendix A):
 * - 08: connection exception; 53: insufficient resources (too many connections, out of memory,
 *   disk full); 57: operator intervention (57014 statement timeout or cancel, 57P01-57P03
 *   shutdown, crash, not accepting connections yet); 58: system error (I/O).
 * - 25006 read_only_sql_transaction: a write reached a standby, i.e. the connection still points
 *   at the old primary's address after a failover, or at a replica.
 * - 40001 / 40P01 serialization failure / deadlock: retried first; still failing, transient.
 * - 55P03 lock_not_available: `lock_timeout` passed.
 */
const UNAVAILABLE_CLASSES = ['08', '53', '57', '58']
const UNAVAILABLE_CODES = new Set(['25006', '40001', '40P01', '55P03'])

/** node-postgres' own messages for a broken, closed or never-opened connection. */
const UNAVAILABLE_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Client was closed|Connection closed|Cannot use a pool after calling end|the database system is (starting up|shutting down|in recovery mode)/i

/** Serialization failure or deadlock: the statement rolled back whole and may run again. */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  return code === '40001' || code === '40P01'
}

/** The SQLSTATE of a database error, or undefined for a client-side failure. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

/** Maps anything thrown by node-postgres to a SessionError, keeping it as the cause. */
export function toSessionError(err: unknown, operation: string): SessionError {
  if (isSessionError(err)) return err
  const message = typeof (err as Error)?.message === 'string' ? (err as Error).message : String(err)
  const state = sqlState(err)
  const unavailable =
    isNetworkError(err) ||
    (state !== undefined &&
      (UNAVAILABLE_CODES.has(state) || UNAVAILABLE_CLASSES.includes(state.slice(0, 2)))) ||
    (state === undefined && UNAVAILABLE_MESSAGE.test(message))
  return new SessionError(
    unavailable ? 'STORE_UNAVAILABLE' : 'STORE_ERROR',
    `postgres ${operation} failed: ${state ? `${state} ` : ''}${message}`,
    { cause: err },
  )
}
