/**
 * Work the store goes on with after it has answered: a rotation whose transaction did not
 * answer in time is replayed in the background until DynamoDB says what happened (see
 * rotation.ts). `settled()` tells a test, or a shutdown, when every such outcome is known.
 */
export class Resolutions {
  readonly #pending = new Set<Promise<void>>()
  readonly #byId = new Map<string, Promise<void>>()

  /** Follows `work` until it settles; `id` is the session id it may still bring into being. */
  track(work: Promise<unknown>, id?: string): void {
    const done: Promise<void> = work.then(
      () => this.#forget(done, id),
      () => this.#forget(done, id),
    )
    this.#pending.add(done)
    if (id !== undefined) this.#byId.set(id, done)
  }

  /**
   * Resolves once nothing is in flight for `id`, at once when nothing is: a request carrying
   * the new id of a rotation still being replayed waits for it instead of finding no session.
   */
  async before(id: string): Promise<void> {
    await this.#byId.get(id)
  }

  /** Resolves once nothing tracked is running, including work started while waiting. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending)
  }

  #forget(done: Promise<void>, id: string | undefined): void {
    this.#pending.delete(done)
    if (id !== undefined && this.#byId.get(id) === done) this.#byId.delete(id)
  }
}
