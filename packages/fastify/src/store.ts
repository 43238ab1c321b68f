import { EventEmitter } from 'node:events'
import { connectFace, isSessionStore, type SessionStore } from '@sessionkit/core'
import { type MemoryStoreOptions, MemoryStore as SessionkitMemoryStore } from '@sessionkit/memory'
import type { Session } from 'fastify'

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

  /**
   * Options of sessionkit's MemoryStore; or, as @fastify/session's `new MemoryStore(map)`, a
   * `Map` the app holds: then a callback store over that map (whole sessions as given, as the
   * peer keeps them), which the plugin drives as any callback store.
   */
  // biome-ignore lint/correctness/noUnreachableSuper: the Map form returns another store, no sessionkit one
  constructor(options?: MemoryStoreOptions | Map<string, unknown>) {
    if (options instanceof Map) {
      // biome-ignore lint/correctness/noConstructorReturn: the peer's Map form is another kind of store
      return new MapStore(options) as unknown as MemoryStore
    }
    super(options)
  }

  /** The stored session (data plus `cookie`), `undefined` when there is none, as the peer's. */
  get(sid: string, callback: (err: any, result?: Session | null) => void): void {
    this.#face.get(sid).then(
      (session) => callback(null, (session ?? undefined) as Session | undefined),
      (err) => callback(err),
    )
  }

  /** Writes a whole session (data plus `cookie`); only attributes that differ are written. */
  set(sid: string, session: Record<string, any>, callback: Callback): void {
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

/** @fastify/session's MemoryStore over an app's `Map`: `store` is that map. */
class MapStore extends EventEmitter {
  constructor(readonly store: Map<string, unknown>) {
    super()
  }

  get(sid: string, callback: Callback<unknown>): void {
    callback(null, this.store.get(sid))
  }

  set(sid: string, session: unknown, callback: Callback): void {
    this.store.set(sid, session)
    callback()
  }

  destroy(sid: string, callback: Callback): void {
    this.store.delete(sid)
    callback()
  }
}

const PEER_METHODS = ['get', 'set', 'destroy'] as const

/**
 * What `request.sessionStore` shows: the store given (as @fastify/session, the same object)
 * when it has the peer's callback `get`/`set`/`destroy` (the default MemoryStore does), else a
 * view of it that adds them (Redis, DynamoDB, ...), so code written for
 * `request.sessionStore.get(sid, cb)` works on every store. A view, never a change to the
 * app's object: another binding given the same store would take added connect methods for a
 * connect store's and stop merging attributes.
 */
export function requestStore(store: object): object {
  if (!isSessionStore(store) || PEER_METHODS.every((name) => name in store)) return store
  const face = connectFace(store as SessionStore) as unknown as Record<string, unknown>
  const isPeerMethod = (prop: PropertyKey) =>
    (PEER_METHODS as readonly PropertyKey[]).includes(prop) && !(prop in store)
  return new Proxy(store, {
    get(target, prop) {
      if (isPeerMethod(prop)) return face[prop as string]
      const value = Reflect.get(target, prop, target)
      // Methods run on the store itself: its private fields are not reachable through a proxy.
      return typeof value === 'function' ? value.bind(target) : value
    },
    has: (target, prop) => isPeerMethod(prop) || Reflect.has(target, prop),
  })
}
