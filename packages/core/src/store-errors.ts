import { isSessionError, SessionError } from './errors'

/**
 * Socket-level failure codes (Node's and undici's): the backend is unreachable or the
 * connection broke. Every store maps them to STORE_UNAVAILABLE (HTTP 503, retryable), so the
 * list is kept once, here, for ours and third parties' stores alike.
 */
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
])

/**
 * True when `err` carries a socket-level failure code: a store should answer
 * STORE_UNAVAILABLE for it.
 *
 * @example
 * ```ts
 * const code = isNetworkError(err) ? 'STORE_UNAVAILABLE' : 'STORE_ERROR'
 * ```
 */
export function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null | undefined)?.code
  return typeof code === 'string' && NETWORK_ERROR_CODES.has(code)
}

/** A store's failure as the repository raises it: a `SessionError` as is, anything else as STORE_ERROR. */
export function storeError(err: unknown): SessionError {
  if (isSessionError(err)) return err
  return new SessionError('STORE_ERROR', `session store failed: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
  })
}

/** One store call, its failure mapped by {@link storeError}. */
export async function callStore<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (err) {
    throw storeError(err)
  }
}
