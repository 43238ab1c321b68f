import { SessionError } from '@sessionkit/core'
import { isRetryable, toSessionError } from './errors'
import type { PgPool, PgPoolClient, PgQueryConfig } from './pool'

/** Runs one statement on the operation's connection and answers its rows. */
export type Query = (config: PgQueryConfig) => Promise<Record<string, unknown>[]>

/**
 * Every store operation runs here: a connection checked out of the pool, released after, the
 * whole bounded by `timeoutMs` and serialization failures retried.
 *
 * node-postgres has no bound of its own by default (`connectionTimeoutMillis` 0: wait for a
 * pool slot or a connection forever; no query timeout), so a stopped or unreachable database,
 * a full pool or a statement stuck on a lock would hang a request. Past the bound the
 * operation rejects with STORE_UNAVAILABLE, and the connection it held is destroyed rather
 * than returned: its statement may still be running, and the pool gets a fresh one instead.
 */
export class Executor {
  #closed = false

  constructor(
    private readonly pool: PgPool,
    private readonly timeoutMs: number,
    private readonly retries: number,
  ) {}

  close(): void {
    this.#closed = true
  }

  get closed(): boolean {
    return this.#closed
  }

  /**
   * @param progress set to `sent: true` once a statement has been handed to the connection:
   *   from then on a failure without an answer from the server leaves the outcome unknown.
   */
  run<T>(operation: string, fn: (query: Query) => Promise<T>, progress?: { sent: boolean }): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new SessionError('STORE_UNAVAILABLE', `postgres ${operation}: the store is closed`),
      )
    }
    return new Promise<T>((resolve, reject) => {
      const started = performance.now()
      let held: PgPoolClient | undefined
      let settled = false
      const timer = setTimeout(() => {
        if (settled) return
        settled = true
        // Destroyed, not released: the connection may be inside a statement or a transaction.
        held?.release(new Error('sessionkit: operation timed out'))
        held = undefined
        reject(
          new SessionError(
            'STORE_UNAVAILABLE',
            `postgres ${operation} did not complete within ${this.timeoutMs} ms`,
          ),
        )
      }, this.timeoutMs)

      const attempt = async (): Promise<T> => {
        const client = await this.pool.connect()
        if (settled) {
          // The bound passed while waiting for a connection: hand it straight back.
          client.release()
          throw new Error('timed out')
        }
        held = client
        let broken: Error | undefined
        try {
          for (let tries = 0; ; tries++) {
            try {
              return await fn(async (config) => {
                if (progress) progress.sent = true
                return (await client.query(config)).rows
              })
            } catch (err) {
              const left = this.timeoutMs - (performance.now() - started)
              if (!isRetryable(err) || tries >= this.retries || left < 20 || settled) throw err
              // A little jitter, so two writers that collided do not collide again in step.
              await new Promise((r) => setTimeout(r, Math.min(left / 4, 2 + Math.random() * 8 * (tries + 1))))
            }
          }
        } catch (err) {
          if (toSessionError(err, operation).code === 'STORE_UNAVAILABLE') broken = err as Error
          throw err
        } finally {
          if (held === client) {
            held = undefined
            client.release(broken)
          }
        }
      }

      attempt().then(
        (value) => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          resolve(value)
        },
        (err: unknown) => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          reject(toSessionError(err, operation))
        },
      )
    })
  }
}

/**
 * Runs `fn` inside BEGIN … COMMIT on the operation's connection; any failure rolls back (a
 * broken connection rolls back on the server by itself).
 */
export async function transaction<T>(query: Query, fn: () => Promise<T>): Promise<T> {
  await query({ text: 'BEGIN', values: [] })
  try {
    const value = await fn()
    await query({ text: 'COMMIT', values: [] })
    return value
  } catch (err) {
    await query({ text: 'ROLLBACK', values: [] }).catch(() => {})
    throw err
  }
}
