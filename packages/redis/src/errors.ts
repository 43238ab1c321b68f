import { isNetworkError, isSessionError, SessionError } from '@sessionkit/core'

/**
 * Redis and ioredis failures that mean "the store is not reachable or not serving now", as
 * opposed to a bug or a bad request. They map to STORE_UNAVAILABLE (HTTP 503), which a
 * client may retry; everything else is STORE_ERROR. A command aborted by a closing
 * connection (in flight when a master died) is unavailable too: its outcome is unknown, and
 * a retry after the failover is the right answer, not a 500.
 */
const UNAVAILABLE_MESSAGE =
  /^(LOADING|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|BUSY|MOVED|ASK)\b|Connection is closed|Command aborted due to connection close|Stream isn't writeable|enableOfflineQueue|Reached the max retries|MaxRetriesPerRequest|None of startup nodes is available|Failed to refresh slots cache|All sentinels are unreachable|Too many Cluster redirections|Cluster isn't ready|connect ETIMEDOUT|Command timed out/i

/** Maps anything thrown by ioredis to a SessionError, keeping it as the cause. */
export function toSessionError(err: unknown, operation: string): SessionError {
  if (isSessionError(err)) return err
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | undefined
  const message = typeof e?.message === 'string' ? e.message : String(err)
  const unavailable =
    isNetworkError(err) ||
    e?.name === 'MaxRetriesPerRequestError' ||
    e?.name === 'ClusterAllFailedError' ||
    UNAVAILABLE_MESSAGE.test(message)
  return new SessionError(
    unavailable ? 'STORE_UNAVAILABLE' : 'STORE_ERROR',
    `redis ${operation} failed: ${message}`,
    { cause: err },
  )
}

/**
 * True when Redis refused a command because the key holds another type: a foreign value
 * under a session key, which is never a record (the one place this is decided).
 */
export function isWrongType(err: unknown): boolean {
  return /WRONGTYPE/.test(String((err as Error | undefined)?.message))
}
