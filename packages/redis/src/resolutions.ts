/**
 * Work a store goes on with after it has answered: a rotation whose take did not answer in
 * time is resolved in the background (see rotation.ts). Kept here so that `settled()` can tell
 * a test, or a shutdown, when every such outcome is known.
 */
export class Resolutions {
  readonly #pending = new Set<Promise<void>>()

  /** Follows `work` until it settles; its rejection is its own caller's (or nobody's) business. */
  track<T>(work: Promise<T>): Promise<T> {
    const done: Promise<void> = work.then(
      () => {
        this.#pending.delete(done)
      },
      () => {
        this.#pending.delete(done)
      },
    )
    this.#pending.add(done)
    return work
  }

  /** Resolves once nothing tracked is running, including work started while waiting. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending)
  }
}

/** Pauses between the attempts of a write that is safe to repeat, in ms; the last one repeats. */
const BACKOFF_MS = [10, 25, 50, 100, 250, 500, 1000]

export type Answer<T> = { answered: true; value: T } | { answered: false; pending: Promise<T> }

/**
 * Sends `attempt` (a write that is safe to repeat) until one copy answers or `until`
 * (`performance.now()` time) passes. A copy that fails is sent again after a pause; a copy
 * still in flight at `until` is handed back, since it may yet answer (a paused server that
 * resumes runs it, and answers it, in order).
 */
export async function answerOf<T>(
  attempt: () => Promise<T>,
  until: number,
  pending: Promise<T> = attempt(),
): Promise<Answer<T>> {
  for (let n = 0; ; n++) {
    const outcome = await settleBy(pending, until)
    if (outcome === 'late') return { answered: false, pending }
    if (outcome.ok) return { answered: true, value: outcome.value }
    const pause = Math.min(BACKOFF_MS[Math.min(n, BACKOFF_MS.length - 1)]!, until - performance.now())
    if (pause <= 0) return { answered: false, pending }
    await sleep(pause)
    pending = attempt()
  }
}

type Settled<T> = { ok: true; value: T } | { ok: false } | 'late'

function settleBy<T>(promise: Promise<T>, until: number): Promise<Settled<T>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('late'), Math.max(0, until - performance.now()))
    timer.unref()
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve({ ok: true, value })
      },
      () => {
        clearTimeout(timer)
        resolve({ ok: false })
      },
    )
  })
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
