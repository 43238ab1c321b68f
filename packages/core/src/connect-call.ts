import { SessionError } from './errors'

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

/**
 * One connect store call as a promise: its error wrapped as a `STORE_ERROR` that remembers the
 * store's own error for {@link storeErrorForApp}; with `notFoundOk`, ENOENT answers `undefined`.
 */
export function callConnect<T>(op: (cb: Callback<T>) => unknown, notFoundOk = false): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const done: Callback<T> = (err, value) => {
      if (!err) return resolve(value)
      if (notFoundOk && (err as { code?: string }).code === 'ENOENT') return resolve(undefined)
      const error = new SessionError(
        'STORE_ERROR',
        `session store failed: ${(err as Error).message ?? err}`,
        {
          cause: err,
        },
      )
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
