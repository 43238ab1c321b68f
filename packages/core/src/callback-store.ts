import { type Codec, jsonCodec } from './codec'
import { type Callback, callConnect } from './connect-call'
import { toObject, toRecord } from './connect-object'
import { createdMeta, mergeMeta, touchedMeta } from './meta'
import { type ConnectProtocol, onlyCookie, type PeerWrite, peerWrites, withPeerReads } from './peer-writes'
import type { SaveResult, SessionChange, SessionMeta, SessionStore, SessionTouch } from './types'

/**
 * The store interface of express-session and @fastify/session (connect-redis, connect-mongo,
 * their MemoryStores, …): whole session objects through callbacks.
 */
export interface CallbackStore {
  // `object`, not a record type: express-session's `SessionData` (connect-redis, memorystore,
  // session-file-store are typed with it) is an interface, which no index signature accepts.
  get(sid: string, callback: Callback<object | null | undefined>): unknown
  set(sid: string, session: object, callback: Callback): unknown
  destroy(sid: string, callback: Callback): unknown
  touch?(sid: string, session: object, callback: Callback): unknown
}

/**
 * True for a sessionkit store, false for a callback store that needs {@link fromCallbackStore}.
 *
 * @example
 * ```ts
 * const store = isSessionStore(options.store) ? options.store : fromCallbackStore(options.store)
 * ```
 */
export function isSessionStore(value: unknown): value is SessionStore {
  const store = value as SessionStore | null
  return (
    typeof store === 'object' &&
    store !== null &&
    typeof store.capabilities === 'object' &&
    typeof store.save === 'function' &&
    typeof store.load === 'function'
  )
}

/** Options of {@link fromCallbackStore}. */
export interface CallbackStoreOptions {
  /** Turns attribute text into the values a peer app reads and back; JSON by default (the bindings' codec). */
  codec?: Codec
  /** How a binding's peer drives the store; set by the bindings, not by apps. */
  peer?: ConnectProtocol
  /**
   * Whether every app instance reaches the same sessions through this store (connect-redis,
   * connect-mongo): declare it for a networked store. Default `false`: memorystore,
   * session-file-store and express-session's MemoryStore keep sessions in one process or on
   * one machine's disk.
   */
  shared?: boolean
  /**
   * Where a session's expiry comes from. `'data'`: the session object's `cookie.expires`, exact
   * (a session past it is never returned, and the adapter's own touch keeps `cookie.expires`
   * current, rewriting the session where the store's `touch` would not). `'store'`: a session the store still returns is live, for a store shared with
   * peer servers whose `touch` extends the TTL without rewriting the object (express-session
   * over connect-redis); it applies to a store with `touch` only. Default `'data'`, `'store'`
   * when a binding drives the store as its peer.
   */
  expiry?: 'data' | 'store'
}

/**
 * Adapts a callback store so sessions move between apps on the peers and apps on sessionkit.
 * The session object keeps the peers' shape (`cookie` plus data keys, `cookie.expires` as the
 * server-side expiry that connect stores derive their TTL from) with sessionkit's metadata
 * under one extra key, `__sessionkit`. Attribute values are stored decoded, as a peer app
 * reads them; a value whose text would not survive decoding and re-encoding is stored as the
 * text itself. Such a store writes whole objects, so a save is a read plus a write: the
 * existence checks hold, but not atomically. Use a sessionkit store for the guarantees.
 *
 * @example
 * ```ts
 * import { RedisStore } from 'connect-redis'
 * const store = fromCallbackStore(new RedisStore({ client }), { shared: true })
 * ```
 */
export function fromCallbackStore(legacy: CallbackStore, options: CallbackStoreOptions = {}): SessionStore {
  const codec = options.codec ?? jsonCodec
  const peer = options.peer
  const name = storeName(legacy)
  // Only a store with `touch` can extend a session without rewriting its `cookie.expires`.
  const trustStore =
    (options.expiry ?? (peer ? 'store' : 'data')) === 'store' && typeof legacy.touch === 'function'
  // A store that cannot parse what it holds answers a SyntaxError: a corrupt record, which the
  // repository treats as absent. A binding's peer passes the store's error to the app instead.
  const corruptOnParseError = peer === undefined

  const get = (id: string) =>
    callConnect<unknown>((cb) => legacy.get(id, cb), {
      what: `${name}.get`,
      notFoundOk: true,
      corruptOnParseError,
    })

  const recordOf = (id: string, object: unknown) => {
    const record = toRecord(id, object, codec, trustStore, name)
    return record.expiresAt > Date.now() ? record : undefined
  }

  const live = async (id: string) => {
    const object = await get(id)
    return object ? recordOf(id, object) : undefined
  }

  // The peer's load: one `get`; a session past its cookie's expiry is destroyed when the peer does.
  const load = async (id: string) => {
    const object = await get(id)
    if (!object) return undefined
    if (peer?.destroyExpiredOnLoad) {
      const expires = (object as { cookie?: { expires?: string | Date | null } }).cookie?.expires
      if (expires && new Date(expires).getTime() <= Date.now()) {
        await destroy(id)
        return undefined
      }
    }
    return recordOf(id, object)
  }

  const destroy = (id: string) => callConnect((cb) => legacy.destroy(id, cb), { what: `${name}.destroy` })
  const set = (id: string, object: Record<string, unknown>) =>
    callConnect((cb) => legacy.set(id, object, cb), { what: `${name}.set` })
  const touchStore = (id: string, object: Record<string, unknown>, notFoundOk = false) =>
    callConnect((cb) => legacy.touch!(id, object, cb), { what: `${name}.touch`, notFoundOk })
  // The store's `touch` writes the cookie it is given (memorystore, session-file-store), rather
  // than only extending a TTL (connect-redis's EXPIRE): learned by reading back after a touch.
  let touchWritesCookie = false

  // Within a binding's request: exactly the peer's calls, with exactly the peer's object.
  const asPeer = () => (peer ? peerWrites.getStore() : undefined)
  const setWhole = (id: string, write: PeerWrite) => set(id, write.object())

  const write = (id: string, attributes: Record<string, string>, meta: SessionMeta) =>
    set(id, toObject(attributes, meta, codec))

  const store: SessionStore = {
    capabilities: { principalIndex: false, shared: options.shared ?? false },
    load,
    async save(change: SessionChange): Promise<SaveResult> {
      const asked = asPeer()
      if (asked) {
        if (peer?.cookieChangeIsTouch && !asked.explicit && !asked.resave && onlyCookie(change)) {
          if (legacy.touch) {
            const object = asked.object()
            await touchStore(change.id, object)
          }
          return 'saved'
        }
        // The peer's upsert: no `get` first (some stores never call back for a missing id).
        await setWhole(change.id, asked)
        if (change.previousId !== undefined) await destroy(change.previousId)
        return 'saved'
      }
      if (change.isNew) {
        if (await live(change.id)) return 'collision'
        await write(change.id, change.set, createdMeta(change.meta))
        return 'saved'
      }
      if (change.previousId !== undefined) {
        if (!(await live(change.previousId))) return 'gone'
        if (await live(change.id)) return 'collision'
        await write(change.id, change.set, createdMeta(change.meta))
        await destroy(change.previousId)
        return 'saved'
      }
      const current = await live(change.id)
      if (!current) return 'gone'
      const attributes = { ...current.attributes, ...change.set }
      for (const name of change.removed) delete attributes[name]
      await write(change.id, attributes, mergeMeta(current, change.meta))
      return 'saved'
    },
    async touch(id: string, touch: SessionTouch): Promise<boolean> {
      const asked = asPeer()
      if (asked && peer) {
        if (asked.explicit || asked.resave || peer.keepAlive === 'set') await setWhole(id, asked)
        else if (legacy.touch) {
          const object = asked.object()
          await touchStore(id, object)
        }
        return true
      }
      const before = await get(id)
      const current = before ? recordOf(id, before) : undefined
      if (!current) return false
      const object = toObject(current.attributes, touchedMeta(current, touch), codec)
      // The store's own `touch` where it writes the cookie: it leaves the attributes alone, so
      // a save racing it keeps its data. Otherwise the session is rewritten whole, as a `touch`
      // that only extends a TTL would leave `cookie.expires`, and so the expiry, behind.
      if (legacy.touch) {
        // A file store answers ENOENT for a session deleted since the read: nothing to touch.
        await touchStore(id, object, true)
        if (touchWritesCookie) return true
        const after = await get(id)
        // Deleted meanwhile: the touch came first, and the session stays deleted.
        if (!after) return true
        const seen = touchedPart(after)
        if (seen === touchedPart(object)) {
          touchWritesCookie = true
          return true
        }
        // Another write came in between: it is the newer one, and the question stays open.
        if (seen !== touchedPart(before)) return true
        // The touch left the object as it was: rewrite it (each time, after the store's touch
        // and a read back, so a save landing meanwhile is seen and not overwritten).
      }
      await set(id, object)
      return true
    },
    async delete(id: string): Promise<void> {
      await destroy(id)
    },
  }
  return withPeerReads(store, () => peer !== undefined)
}

/** The store's class name for error messages, as the app constructed it (`RedisStore`, `FileStore`). */
function storeName(legacy: CallbackStore): string {
  const name = (legacy as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'connect store'
}

/** What a touch writes into a session object (the cookie's expiry and access time), comparable as text. */
function touchedPart(object: unknown): string {
  const cookie = (object as { cookie?: Record<string, unknown> } | null)?.cookie
  return JSON.stringify([cookie?.expires ?? null, cookie?.__sessionkit ?? null])
}
