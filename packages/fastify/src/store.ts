import { connectFace } from '@sessionkit/core'
import { MemoryStore as SessionkitMemoryStore } from '@sessionkit/memory'

type Callback<T = void> = (err?: any, value?: T) => void

/**
 * The default in-process store: sessionkit's MemoryStore (attribute-level saves, expiry
 * sweeping, bounded size, principal index) that also answers @fastify/session's `Store`
 * calls, `get(sid, cb)`, `set(sid, session, cb)` and `destroy(sid, cb)`, with the peer's
 * callback values: apps and tests seed or inspect `request.sessionStore` this way. The plugin
 * itself uses the sessionkit side.
 *
 * @example
 * ```ts
 * request.sessionStore.get(sid, (err, session) => reply.send(session?.user))
 * ```
 */
export class MemoryStore extends SessionkitMemoryStore {
  readonly #face = connectFace(this)

  /** The stored session (data plus `cookie`), `undefined` when there is none, as the peer's. */
  get(sid: string, callback: Callback<Record<string, unknown> | undefined>): void {
    this.#face.get(sid).then(
      (session) => callback(null, session ?? undefined),
      (err) => callback(err),
    )
  }

  /** Writes a whole session (data plus `cookie`); only attributes that differ are written. */
  set(sid: string, session: Record<string, unknown>, callback: Callback): void {
    this.#face.set(sid, session).then(
      () => callback(),
      (err) => callback(err),
    )
  }

  destroy(sid: string, callback: Callback): void {
    this.#face.destroy(sid).then(
      () => callback(),
      (err) => callback(err),
    )
  }
}
