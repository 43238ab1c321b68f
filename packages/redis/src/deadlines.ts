import { SessionError } from '@sessionkit/core'
import { toSessionError } from './errors'

/** An operation still running, in a list ordered by deadline (= by start: one timeout for all). */
interface Pending {
  deadline: number
  operation: string
  reject: (err: unknown) => void
  prev: Pending | undefined
  next: Pending | undefined
}

/**
 * Settles every operation within `ms`: ioredis' offline queue and reconnect retries can hold a
 * command for a long time during an outage, and a request must fail fast instead of hanging.
 * The command itself cannot be withdrawn from ioredis' queue; it may still run later.
 *
 * One timer for all operations, not one each: every operation has the same timeout, so their
 * deadlines come in start order and only the oldest running one needs watching. An operation
 * leaves the list the moment it settles, so nothing it holds outlives it. (A timer and a
 * `Promise.race` per command cost more than the rest of a read's client-side work.)
 */
export class Deadlines {
  #first: Pending | undefined
  #last: Pending | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(private readonly ms: number) {}

  run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = {
        deadline: performance.now() + this.ms,
        operation,
        reject,
        prev: this.#last,
        next: undefined,
      }
      if (this.#last) this.#last.next = entry
      else this.#first = entry
      this.#last = entry
      if (this.#timer === undefined) this.#arm(this.ms)
      else this.#timer.ref()
      fn().then(
        (value) => {
          this.#unlink(entry)
          resolve(value)
        },
        (err: unknown) => {
          this.#unlink(entry)
          reject(toSessionError(err, operation))
        },
      )
    })
  }

  #unlink(entry: Pending): void {
    if (entry.prev) entry.prev.next = entry.next
    else if (this.#first === entry) this.#first = entry.next
    else return // already unlinked: timed out
    if (entry.next) entry.next.prev = entry.prev
    else this.#last = entry.prev
    entry.prev = entry.next = undefined
    // Nothing running: the timer (due later) never keeps a process alive.
    if (!this.#first) this.#timer?.unref()
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(() => this.#expire(), Math.max(1, Math.ceil(delay)))
  }

  #expire(): void {
    this.#timer = undefined
    const now = performance.now()
    for (let entry = this.#first; entry && entry.deadline <= now; entry = this.#first) {
      this.#unlink(entry)
      entry.reject(
        new SessionError(
          'STORE_UNAVAILABLE',
          `redis ${entry.operation} did not complete within ${this.ms} ms`,
        ),
      )
    }
    if (this.#first) this.#arm(this.#first.deadline - now)
  }
}
