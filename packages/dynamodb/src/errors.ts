import { isNetworkError, isSessionError, SessionError } from '@sessionkit/core'
import { tooLarge } from './item'

/** Service errors that mean "not serving now, try again": throttling, capacity, outages. */
const UNAVAILABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'LimitExceededException',
  'TransactionInProgressException',
  'TimeoutError',
  'AbortError',
  'RequestTimeout',
  'RequestTimeoutException',
])

const ITEM_TOO_LARGE = /Item size (to update )?has exceeded the maximum allowed size/i

interface AwsError {
  name?: unknown
  code?: unknown
  message?: unknown
  $retryable?: unknown
  $metadata?: { httpStatusCode?: number }
}

/** Maps anything the SDK throws to a SessionError, keeping it as the cause. */
export function toSessionError(err: unknown, operation: string, id = ''): SessionError {
  if (isSessionError(err)) return err
  const e = (err ?? {}) as AwsError
  const name = typeof e.name === 'string' ? e.name : ''
  const message = typeof e.message === 'string' ? e.message : String(err)
  if (name === 'ValidationException' && ITEM_TOO_LARGE.test(message)) return tooLarge(id, undefined, err)
  const status = e.$metadata?.httpStatusCode
  const unavailable =
    UNAVAILABLE_NAMES.has(name) ||
    isNetworkError(err) ||
    e.$retryable !== undefined ||
    (typeof status === 'number' && status >= 500)
  const hint =
    name === 'ResourceNotFoundException'
      ? ' (does the table exist? see ensureTable() and createTableInput())'
      : ''
  return new SessionError(
    unavailable ? 'STORE_UNAVAILABLE' : 'STORE_ERROR',
    `dynamodb ${operation} failed: ${name ? `${name}: ` : ''}${message}${hint}`,
    { cause: err },
  )
}

/**
 * Runs `fn` with an AbortSignal and settles within `ms`: the SDK's retries (its own backoff
 * through throttling or a refused connection) and a server that accepts a connection and never
 * answers would otherwise hold a request far longer. Past the bound the in-flight request is
 * aborted and the operation fails with STORE_UNAVAILABLE.
 */
export async function bounded<T>(
  operation: string,
  ms: number,
  id: string,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new SessionError('STORE_UNAVAILABLE', `dynamodb ${operation} did not complete within ${ms} ms`))
      controller.abort()
    }, ms)
  })
  try {
    return await Promise.race([fn(controller.signal), timeout])
  } catch (err) {
    throw toSessionError(err, operation, id)
  } finally {
    clearTimeout(timer)
  }
}

/** The SDK's conditional-check failure of a single-item write (not an error: gone or collision). */
export function isConditionFailure(err: unknown): err is { Item?: Record<string, unknown> } {
  return (err as AwsError | undefined)?.name === 'ConditionalCheckFailedException'
}
