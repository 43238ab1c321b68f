/**
 * Whether a write may have reached DynamoDB without its answer reaching us. Attached to each
 * command of one store operation, it sees every attempt, the SDK's own retries included.
 */
export class Delivery {
  /** An attempt ended in a way that does not tell whether DynamoDB ran it. */
  #uncertain = false
  /** Attempts sent and not yet answered (aborted at the bound, these are in doubt too). */
  #outstanding = 0

  /** True unless every attempt so far was answered or certainly never ran. */
  get inDoubt(): boolean {
    return this.#uncertain || this.#outstanding > 0
  }

  /** Adds the watching middleware to `command` and returns it. */
  watch<C extends { middlewareStack: { add: (...args: never[]) => unknown } }>(command: C): C {
    const stack = command.middlewareStack as unknown as {
      add: (
        mw: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>,
        options: { step: 'deserialize'; name: string },
      ) => void
    }
    stack.add(
      (next) => async (args) => {
        this.#outstanding++
        try {
          return await next(args)
        } catch (err) {
          if (mayHaveRun(err)) this.#uncertain = true
          throw err
        } finally {
          this.#outstanding--
        }
      },
      { step: 'deserialize', name: 'sessionkitDelivery' },
    )
    return command
  }
}

/**
 * False only when the request certainly did not run: the connection was refused, or DynamoDB
 * refused the request (a 4xx) before running it. A transaction still in progress under the
 * same token, a timeout, an abort, a reset connection or a 5xx may have committed.
 */
export function mayHaveRun(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } }
  if (e?.name === 'TransactionInProgressException') return true
  if (e?.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(String(e?.message))) return false
  const status = e?.$metadata?.httpStatusCode
  return !(typeof status === 'number' && status >= 400 && status < 500)
}
