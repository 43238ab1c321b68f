/** A Node-style callback, as the peers' session methods take it. */
export type NodeCallback<T = void> = (err: any, value?: T) => void

/**
 * The callback/promise bridge of every session method: with a callback, the outcome goes to
 * it and the call answers `undefined`; without one, the promise is returned. `success` is what
 * a successful callback receives as its error argument (`null` for @fastify/session,
 * `undefined` for express-session). A promise nobody awaits never becomes an unhandled
 * rejection: apps written for the peers call `save()` and ignore the result.
 *
 * @example
 * ```ts
 * save(callback?: NodeCallback) { return settle(() => lifecycle.save(), callback) }
 * ```
 */
export function settle<T>(
  work: () => Promise<T>,
  callback?: NodeCallback<T> | undefined,
  options: { success?: null | undefined } = {},
): Promise<T> | undefined {
  let promise: Promise<T>
  try {
    promise = work()
  } catch (err) {
    promise = Promise.reject(err)
  }
  if (typeof callback !== 'function') {
    promise.catch(() => {})
    return promise
  }
  promise.then(
    (value) => (value === undefined ? callback(options.success) : callback(options.success ?? null, value)),
    (err) => callback(err),
  )
  return undefined
}
