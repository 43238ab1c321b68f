import { SessionError } from './errors'
import { isNetworkError } from './store-errors'

/** A connect store's node-style callback. */
export type Callback<T = void> = (err?: unknown, value?: T) => void

// Errors that wrap a connect store's own failure: the lifecycle hands the original to the app.
const fromConnectStore = new WeakSet<object>()

/**
 * The error the app sees: a connect store's own error object as the store raised it (same
 * object, message, `code`, `status`), as the peers pass it on; every other error unchanged.
 *
 * @example
 * ```ts
 * try { await lifecycle.commit() } catch (err) { next(storeErrorForApp(err)) }
 * ```
 */
export function storeErrorForApp(err: unknown): unknown {
  return typeof err === 'object' && err !== null && fromConnectStore.has(err) ? (err as Error).cause : err
}

// Errors of a connect store's client that mean its server is out of reach, where they carry no
// socket error code: node-redis (connect-redis) while disconnected, closed or timed out.
const CLIENT_OUTAGE_ERRORS: ReadonlySet<string> = new Set([
  'ClientClosedError',
  'ClientOfflineError',
  'ConnectionTimeoutError',
  'SocketClosedUnexpectedlyError',
  'SocketTimeoutError',
  'ReconnectStrategyError',
])

function isOutage(err: unknown): boolean {
  if (isNetworkError(err)) return true
  const name = (err as { constructor?: { name?: unknown } } | null)?.constructor?.name
  return typeof name === 'string' && CLIENT_OUTAGE_ERRORS.has(name)
}

/** What one connect store call is, for its errors. */
export interface ConnectCall {
  /** The call as the error names it: `RedisStore.get`. */
  what: string
  /** ENOENT answers `undefined` (session-file-store's missing file). */
  notFoundOk?: boolean
  /** A SyntaxError (the store's JSON.parse of bytes it holds) is CORRUPT_RECORD. */
  corruptOnParseError?: boolean
}

/**
 * One connect store call as a promise. Its error is wrapped as a `SessionError` naming the
 * call and the store's message, that remembers the store's own error for
 * {@link storeErrorForApp}: STORE_UNAVAILABLE for a socket failure, CORRUPT_RECORD for a parse
 * failure when asked, STORE_ERROR otherwise.
 */
export function callConnect<T>(op: (cb: Callback<T>) => unknown, call: ConnectCall): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const done: Callback<T> = (err, value) => {
      if (!err) return resolve(value)
      if (call.notFoundOk && (err as { code?: string }).code === 'ENOENT') return resolve(undefined)
      const code = isOutage(err)
        ? 'STORE_UNAVAILABLE'
        : call.corruptOnParseError && err instanceof SyntaxError
          ? 'CORRUPT_RECORD'
          : 'STORE_ERROR'
      const cause = err instanceof Error ? err.message : String(err)
      const error = new SessionError(code, `${call.what} failed: ${cause}`, { cause: err })
      fromConnectStore.add(error)
      reject(error)
    }
    try {
      const returned = op(done) as Promise<unknown> | undefined
      // Some stores answer by promise and ignore the callback; both are accepted.
      if (returned && typeof returned.then === 'function') returned.then(() => undefined, done)
    } catch (err) {
      done(err)
    }
  })
}
