import { type CallbackStore, fromCallbackStore, isSessionStore } from './callback-store'
import { type ConnectProtocol, withPeerReads } from './peer-writes'
import type { SessionStore } from './types'

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
