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
  get(sid: string, callback: Callback<Record<string, unknown> | null | undefined>): unknown
  set(sid: string, session: Record<string, unknown>, callback: Callback): unknown
  destroy(sid: string, callback: Callback): unknown
  touch?(sid: string, session: Record<string, unknown>, callback: Callback): unknown
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

/**
 * Adapts a callback store so sessions move between apps on the peers and apps on sessionkit.
 * The session object keeps the peers' shape (`cookie` plus data keys, `cookie.expires` as the
 * server-side expiry that connect stores derive their TTL from) with sessionkit's metadata
 * under one extra key. Such a store writes whole objects, so a save is a read plus a write:
 * the existence checks hold, but not atomically. Use a sessionkit store for the guarantees.
 *
 * @example
 * ```ts
 * import { RedisStore } from 'connect-redis'
 * const store = fromCallbackStore(new RedisStore({ client }))
 * ```
 */
export function fromCallbackStore(
  legacy: CallbackStore,
  options: { codec?: Codec; peer?: ConnectProtocol } = {},
): SessionStore {
  const codec = options.codec ?? jsonCodec
  const peer = options.peer

  const get = (id: string) =>
    callConnect<Record<string, unknown> | null | undefined>((cb) => legacy.get(id, cb), true)

  const live = async (id: string) => {
    const object = await get(id)
    if (!object) return undefined
    const record = toRecord(id, object, codec, typeof legacy.touch === 'function')
    return record.expiresAt > Date.now() ? record : undefined
  }

  // The peer's load: one `get`; a session past its cookie's expiry is destroyed when the peer does.
  const load = async (id: string) => {
    const object = await get(id)
    if (!object) return undefined
    if (peer?.destroyExpiredOnLoad) {
      const expires = (object.cookie as { expires?: string | Date | null } | undefined)?.expires
      if (expires && new Date(expires).getTime() <= Date.now()) {
        await callConnect((cb) => legacy.destroy(id, cb))
        return undefined
      }
    }
    const record = toRecord(id, object, codec, typeof legacy.touch === 'function')
    return record.expiresAt > Date.now() ? record : undefined
  }

  // Within a binding's request: exactly the peer's calls, with exactly the peer's object.
  const asPeer = () => (peer ? peerWrites.getStore() : undefined)
  const setWhole = (id: string, write: PeerWrite) => callConnect((cb) => legacy.set(id, write.object(), cb))

  const write = (id: string, attributes: Record<string, string>, meta: SessionMeta) =>
    callConnect((cb) => legacy.set(id, toObject(attributes, meta, codec), cb))

  const store: SessionStore = {
    capabilities: { principalIndex: false, shared: true },
    load,
    async save(change: SessionChange): Promise<SaveResult> {
      const asked = asPeer()
      if (asked) {
        if (peer?.cookieChangeIsTouch && !asked.explicit && !asked.resave && onlyCookie(change)) {
          if (legacy.touch) {
            const object = asked.object()
            await callConnect((cb) => legacy.touch!(change.id, object, cb))
          }
          return 'saved'
        }
        // The peer's upsert: no `get` first (some stores never call back for a missing id).
        await setWhole(change.id, asked)
        if (change.previousId !== undefined) await callConnect((cb) => legacy.destroy(change.previousId!, cb))
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
        await callConnect((cb) => legacy.destroy(change.previousId!, cb))
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
          await callConnect((cb) => legacy.touch!(id, object, cb))
        }
        return true
      }
      const current = await live(id)
      if (!current) return false
      const meta = touchedMeta(current, touch)
      if (legacy.touch) {
        const cookie = current.attributes.cookie
        const object = toObject(cookie === undefined ? {} : { cookie }, meta, codec)
        await callConnect((cb) => legacy.touch!(id, object, cb))
      } else {
        await write(id, current.attributes, meta)
      }
      return true
    },
    async delete(id: string): Promise<void> {
      await callConnect((cb) => legacy.destroy(id, cb))
    },
  }
  return withPeerReads(store, () => peer !== undefined)
}
