import type { SessionError } from './errors'

/** Events a repository emits, with their arguments. */
export interface SessionEvents {
  /** A new session was saved for the first time. */
  created: [id: string]
  /** A session was deleted (destroy, regenerate, or revoke). */
  destroyed: [id: string]
  /** A session moved to a new id. */
  idChanged: [change: { previousId: string; id: string }]
  /** A request presented the id of an expired session. */
  expired: [id: string]
  /** Something went wrong that did not fail the request, e.g. an undecodable record. */
  error: [error: SessionError]
}

type Listener<K extends keyof SessionEvents> = (...args: SessionEvents[K]) => void

/**
 * A tiny typed emitter. Unlike Node's EventEmitter, an `error` with no listener is dropped,
 * never thrown: a corrupt record must not crash a server nobody subscribed on.
 *
 * @example
 * ```ts
 * repository.on('expired', (id) => metrics.increment('session.expired'))
 * ```
 */
export class SessionEmitter {
  readonly #listeners = new Map<keyof SessionEvents, Function[]>()

  /**
   * @example
   * ```ts
   * repository.on('error', (err) => log.warn({ code: err.code }, err.message))
   * ```
   */
  on<K extends keyof SessionEvents>(event: K, listener: Listener<K>): this {
    const list = this.#listeners.get(event)
    if (list) list.push(listener)
    else this.#listeners.set(event, [listener])
    return this
  }

  /** Removes a listener added with {@link on}. */
  off<K extends keyof SessionEvents>(event: K, listener: Listener<K>): this {
    const list = this.#listeners.get(event)
    const at = list?.indexOf(listener) ?? -1
    if (at !== -1) list!.splice(at, 1)
    return this
  }

  protected emit<K extends keyof SessionEvents>(event: K, ...args: SessionEvents[K]): void {
    const list = this.#listeners.get(event)
    if (!list) return
    for (const listener of [...list]) {
      try {
        listener(...args)
      } catch {
        // A throwing listener must not turn into a failed request.
      }
    }
  }
}
