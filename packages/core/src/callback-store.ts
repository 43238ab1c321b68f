import { AsyncLocalStorage } from 'node:async_hooks'
import { type Codec, jsonCodec } from './codec'
import { SessionError } from './errors'
import { createdMeta, mergeMeta, touchedMeta } from './meta'
import type {
  SaveResult,
  SessionChange,
  SessionMeta,
  SessionRecord,
  SessionStore,
  SessionTouch,
} from './types'

type Callback<T = void> = (err?: unknown, value?: T) => void

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

// Errors that wrap a connect store's own failure: the lifecycle hands the original to the app.
const fromConnectStore = new WeakSet<object>()

/**
 * The error the app sees: a connect store's own error object as the store raised it (same
 * object, message, `code`, `status`), as the peers pass it on; every other error unchanged.
 *
 * @example
 * ```ts
 * try { await lifecycle.commit() } catch (err) { next(storeErrorForApp(err)) }
 * ```
 */
export function storeErrorForApp(err: unknown): unknown {
  return typeof err === 'object' && err !== null && fromConnectStore.has(err) ? (err as Error).cause : err
}

// Where sessionkit keeps its own metadata inside a whole-object session.
const META = '__sessionkit'
const DAY = 86_400_000

/**
 * How a peer drives a connect store, as data (see {@link fromCallbackStore}'s `peer` option).
 *
 * @example
 * ```ts
 * const expressSession: ConnectProtocol = { keepAlive: 'touch', destroyExpiredOnLoad: false }
 * ```
 */
export interface ConnectProtocol {
  /**
   * What keeps an unmodified session alive: `'touch'` calls the store's `touch` when it has
   * one (express-session), `'set'` writes the whole session (@fastify/session's `rolling`,
   * express-session's `resave`).
   */
  keepAlive: 'touch' | 'set'
  /** A loaded session whose `cookie.expires` has passed is `destroy`ed, and that destroy's error fails the request (@fastify/session). */
  destroyExpiredOnLoad: boolean
  /**
   * A change of the cookie alone is no modification: the session is kept alive with `touch`
   * (which gets the new cookie), not rewritten (express-session hashes the data without `cookie`).
   */
  cookieChangeIsTouch?: boolean
}

/** What a binding's request hands the adapter for one write: the session as the peer would store it. */
export interface PeerWrite {
  /** The peer's object: the data keys plus `cookie`, nothing else. */
  object(): Record<string, unknown>
  /** An explicit `save()`: the peer calls `set` whatever else applies. */
  explicit: boolean
  /** express-session's `resave`: an unmodified session is rewritten with `set`, not touched. */
  resave?: boolean
}

/**
 * Set by a request's lifecycle around its writes, so a connect store driven the peer's way
 * receives exactly the object the peer would pass.
 */
export const peerWrites: AsyncLocalStorage<PeerWrite> = new AsyncLocalStorage<PeerWrite>()

const READS_PEER_WRITES: unique symbol = Symbol('sessionkit.readsPeerWrites')

/**
 * Whether a save on this store reads {@link peerWrites}. Entering an AsyncLocalStorage turns
 * on Node's promise hooks for the whole process (every later promise pays), so a lifecycle
 * enters it only for a store that reads it.
 */
export function readsPeerWrites(store: SessionStore): boolean {
  const reads = (store as { [READS_PEER_WRITES]?: () => boolean })[READS_PEER_WRITES]
  return typeof reads === 'function' && reads()
}

function withPeerReads(store: SessionStore, reads: () => boolean): SessionStore {
  Object.defineProperty(store, READS_PEER_WRITES, { value: reads })
  return store
}

/** What sessionkit keeps under META: metadata the peers' shape has no place for. */
type OwnMeta = Partial<SessionMeta> & {
  /** The session had no `cookie` attribute; the adapter added one for the store's TTL. */
  cookieAdded?: true
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

  const call = <T>(op: (cb: Callback<T>) => unknown, notFoundOk = false): Promise<T | undefined> =>
    new Promise((resolve, reject) => {
      const done: Callback<T> = (err, value) => {
        if (!err) return resolve(value)
        if (notFoundOk && (err as { code?: string }).code === 'ENOENT') return resolve(undefined)
        const error = new SessionError(
          'STORE_ERROR',
          `session store failed: ${(err as Error).message ?? err}`,
          {
            cause: err,
          },
        )
        fromConnectStore.add(error)
        reject(error)
      }
      try {
        const returned = op(done) as Promise<unknown> | undefined
        // Some stores answer by promise and ignore the callback; both are accepted.
        if (returned && typeof returned.then === 'function') returned.then(() => undefined, done)
      } catch (err) {
        done(err)
      }
    })

  const get = (id: string) =>
    call<Record<string, unknown> | null | undefined>((cb) => legacy.get(id, cb), true)

  const toRecord = (id: string, object: Record<string, unknown>): SessionRecord => {
    const own = (object[META] ?? {}) as OwnMeta
    const cookie = (object.cookie ?? {}) as { originalMaxAge?: number | null; expires?: string | Date | null }
    const maxInactiveMs = own.maxInactiveMs ?? cookie.originalMaxAge ?? DAY
    const now = Date.now()
    let expiresAt = cookie.expires ? new Date(cookie.expires).getTime() : now + maxInactiveMs
    // A store with `touch` extends a session's life without rewriting it (connect-redis's
    // EXPIRE), so the stored expiry is stale after a touch and the store is the authority, as
    // express-session trusts it: a session it still returns is live. Its last access is then
    // unknown; it counts as half a lifetime ago, so the next request touches it again.
    if (!(expiresAt > now) && typeof legacy.touch === 'function') expiresAt = now + maxInactiveMs / 2
    // null prototype: an attribute may be called `__proto__`
    const attributes: Record<string, string> = Object.create(null)
    for (const [name, value] of Object.entries(object)) {
      if (name === META) continue
      // A cookie the adapter added for the connect store's TTL is no attribute of the session.
      if (name === 'cookie' && own.cookieAdded) continue
      // `expires` moves on every touch; keeping it out keeps the attribute stable.
      const plain = name === 'cookie' && value && typeof value === 'object' ? withoutExpires(value) : value
      const text = codec.encode(plain)
      if (text !== undefined) attributes[name] = text
    }
    const record: SessionRecord = {
      id,
      createdAt: own.createdAt ?? expiresAt - maxInactiveMs,
      // Exact while the cookie's expiry is the one written with it; after a store-side touch
      // moved the expiry, derived from it, never later than now (an app that set
      // `cookie.expires` beyond `maxAge` would otherwise stop every touch until then).
      lastAccessedAt:
        own.lastAccessedAt !== undefined && own.expiresAt === expiresAt
          ? own.lastAccessedAt
          : Math.min(now, expiresAt - maxInactiveMs),
      maxInactiveMs,
      expiresAt,
      attributes,
    }
    if (own.principal !== undefined) record.principal = own.principal
    return record
  }

  const toObject = (attributes: Record<string, string>, meta: SessionMeta): Record<string, unknown> => {
    const object: Record<string, unknown> = {}
    for (const [name, text] of Object.entries(attributes)) {
      // defineProperty: an attribute called `__proto__` stays a key, never the object's prototype.
      Object.defineProperty(object, name, {
        value: codec.decode(text),
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
    const cookieAdded = !Object.hasOwn(attributes, 'cookie')
    const given = object.cookie
    object.cookie = {
      originalMaxAge: null,
      ...(typeof given === 'object' && given !== null ? given : {}),
      expires: new Date(meta.expiresAt).toISOString(),
    }
    const own: OwnMeta = {
      createdAt: meta.createdAt,
      lastAccessedAt: meta.lastAccessedAt,
      maxInactiveMs: meta.maxInactiveMs,
      expiresAt: meta.expiresAt,
    }
    if (meta.principal !== undefined) own.principal = meta.principal
    if (cookieAdded) own.cookieAdded = true
    object[META] = own
    return object
  }

  const live = async (id: string) => {
    const object = await get(id)
    if (!object) return undefined
    const record = toRecord(id, object)
    return record.expiresAt > Date.now() ? record : undefined
  }

  // The peer's load: one `get`; a session past its cookie's expiry is destroyed when the peer does.
  const load = async (id: string) => {
    const object = await get(id)
    if (!object) return undefined
    if (peer?.destroyExpiredOnLoad) {
      const expires = (object.cookie as { expires?: string | Date | null } | undefined)?.expires
      if (expires && new Date(expires).getTime() <= Date.now()) {
        await call((cb) => legacy.destroy(id, cb))
        return undefined
      }
    }
    const record = toRecord(id, object)
    return record.expiresAt > Date.now() ? record : undefined
  }

  // Within a binding's request: exactly the peer's calls, with exactly the peer's object.
  const asPeer = () => (peer ? peerWrites.getStore() : undefined)
  const setWhole = (id: string, write: PeerWrite) => call((cb) => legacy.set(id, write.object(), cb))

  const write = (id: string, attributes: Record<string, string>, meta: SessionMeta) =>
    call((cb) => legacy.set(id, toObject(attributes, meta), cb))

  const store: SessionStore = {
    capabilities: { principalIndex: false, shared: true },
    load,
    async save(change: SessionChange): Promise<SaveResult> {
      const asked = asPeer()
      if (asked) {
        if (peer?.cookieChangeIsTouch && !asked.explicit && !asked.resave && onlyCookie(change)) {
          if (legacy.touch) {
            const object = asked.object()
            await call((cb) => legacy.touch!(change.id, object, cb))
          }
          return 'saved'
        }
        // The peer's upsert: no `get` first (some stores never call back for a missing id).
        await setWhole(change.id, asked)
        if (change.previousId !== undefined) await call((cb) => legacy.destroy(change.previousId!, cb))
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
        await call((cb) => legacy.destroy(change.previousId!, cb))
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
          await call((cb) => legacy.touch!(id, object, cb))
        }
        return true
      }
      const current = await live(id)
      if (!current) return false
      const meta = touchedMeta(current, touch)
      if (legacy.touch) {
        const cookie = current.attributes.cookie
        const object = toObject(cookie === undefined ? {} : { cookie }, meta)
        await call((cb) => legacy.touch!(id, object, cb))
      } else {
        await write(id, current.attributes, meta)
      }
      return true
    },
    async delete(id: string): Promise<void> {
      await call((cb) => legacy.destroy(id, cb))
    },
  }
  return withPeerReads(store, () => peer !== undefined)
}

/** A change of a stored session that sets the `cookie` attribute and nothing else. */
function onlyCookie(change: SessionChange): boolean {
  if (change.isNew || change.previousId !== undefined || change.removed.length > 0) return false
  const names = Object.keys(change.set)
  return names.length === 1 && names[0] === 'cookie'
}

function withoutExpires(cookie: object): object {
  const { expires: _expires, ...rest } = cookie as Record<string, unknown>
  return rest
}

/**
 * The store a repository works on: a sessionkit store as is, a connect/callback store
 * adapted. One place for every binding.
 *
 * @example
 * ```ts
 * new SessionRepository({ store: adaptStore(options.store) })
 * ```
 */
export function adaptStore(store: unknown, peer?: ConnectProtocol): SessionStore {
  if (isSessionStore(store)) return speaksConnect(store) ? preferReplacedMethods(store, peer) : store
  const legacy = store as Partial<CallbackStore> | null
  if (
    typeof legacy !== 'object' ||
    legacy === null ||
    typeof legacy.get !== 'function' ||
    typeof legacy.set !== 'function' ||
    typeof legacy.destroy !== 'function'
  ) {
    throw new TypeError('store must be a sessionkit store or a connect store with get, set and destroy')
  }
  const adapted = fromCallbackStore(legacy as CallbackStore, peer ? { peer } : {})
  connectDriven.add(adapted)
  return adapted
}

// Stores `adaptStore` made from a connect store: every call reaches the app's connect methods.
const connectDriven = new WeakSet<SessionStore>()
const replacedConnectMethods = new WeakMap<SessionStore, () => boolean>()

/**
 * True while `store` (as `adaptStore` returned it) is driven through connect methods: a
 * connect store, or a store speaking both protocols whose connect methods the app replaced.
 * Such a store gets the peer's calls (e.g. express-session's touch on every request), not
 * sessionkit's throttling, and has none of sessionkit's guarantees.
 *
 * @example
 * ```ts
 * if (isConnectDriven(manager.repository.store)) lifecycle.touch()
 * ```
 */
export function isConnectDriven(store: SessionStore): boolean {
  return connectDriven.has(store) || replacedConnectMethods.get(store)?.() === true
}

const CONNECT_METHODS = ['get', 'set', 'destroy', 'touch'] as const

/** A sessionkit store that also has connect methods (express's MemoryStore). */
function speaksConnect(store: SessionStore): boolean {
  const methods = store as unknown as Record<string, unknown>
  return (
    typeof methods.get === 'function' &&
    typeof methods.set === 'function' &&
    typeof methods.destroy === 'function'
  )
}

/**
 * A store that speaks both protocols, driven through its connect methods once the app has
 * replaced one of them on the instance (to count, log or inject failures, as test suites
 * written for express-session do), else through the SPI with every guarantee.
 */
function preferReplacedMethods(store: SessionStore, peer: ConnectProtocol | undefined): SessionStore {
  const legacy = fromCallbackStore(store as unknown as CallbackStore, peer ? { peer } : {})
  const replaced = () => CONNECT_METHODS.some((name) => Object.hasOwn(store, name))
  const adapted: SessionStore = {
    get capabilities() {
      return store.capabilities
    },
    load: (id) => (replaced() ? legacy.load(id) : store.load(id)),
    save: (change) => (replaced() ? legacy.save(change) : store.save(change)),
    touch: (id, meta) => (replaced() ? legacy.touch(id, meta) : store.touch(id, meta)),
    delete: (id) => (replaced() ? legacy.delete(id) : store.delete(id)),
    ...(store.findByPrincipal
      ? { findByPrincipal: (principal: string) => store.findByPrincipal!(principal) }
      : {}),
    ...(store.close ? { close: () => store.close!() } : {}),
  }
  replacedConnectMethods.set(adapted, replaced)
  return withPeerReads(adapted, () => peer !== undefined && replaced())
}
