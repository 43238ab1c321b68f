import type { Client } from './commands'

/** How often the offset is measured again (in the background: a write never waits for it). */
const REFRESH_MS = 30_000

/**
 * Redis' clock as seen from this process: `TIME` answered between two readings of
 * `performance.now()` (monotonic: a wall-clock step on the app server changes nothing). A
 * write's deadline is sent in Redis' clock (scripts.ts `guarded`), so the app's and Redis'
 * clocks need not agree. The offset kept is the smallest the measurement allows (Redis' time
 * minus the later reading), so a deadline converted with it is never later in Redis' clock than
 * the instant the app gives up: an error in the estimate only makes a write refuse early.
 */
export class ServerClock {
  #offset: number | undefined
  #measuredAt = Number.NEGATIVE_INFINITY
  #measuring: Promise<number> | undefined

  constructor(private readonly client: Client) {}

  /** `clientMs` (a `performance.now()` instant) in Redis' clock. */
  async toServer(clientMs: number): Promise<number> {
    const stale = performance.now() - this.#measuredAt > REFRESH_MS
    if (this.#offset === undefined) return clientMs + (await this.#measure())
    if (stale) this.#measure().catch(() => {})
    return clientMs + this.#offset
  }

  #measure(): Promise<number> {
    this.#measuring ??= (async () => {
      try {
        const before = performance.now()
        const [seconds, micros] = (await this.client.time()) as [string | number, string | number]
        const after = performance.now()
        const server = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
        const offset = server - after
        // A slow sample (event-loop lag, a busy server) is a wide interval: it replaces a
        // narrower one only when it says the offset is smaller.
        if (this.#offset === undefined || after - before < 50 || offset < this.#offset) this.#offset = offset
        this.#measuredAt = after
        return this.#offset
      } finally {
        this.#measuring = undefined
      }
    })()
    return this.#measuring
  }
}
