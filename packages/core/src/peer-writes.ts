import { AsyncLocalStorage } from 'node:async_hooks'
import type { SessionChange, SessionStore } from './types'

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

export function withPeerReads(store: SessionStore, reads: () => boolean): SessionStore {
  Object.defineProperty(store, READS_PEER_WRITES, { value: reads })
  return store
}

/** A change of a stored session that sets the `cookie` attribute and nothing else. */
export function onlyCookie(change: SessionChange): boolean {
  if (change.isNew || change.previousId !== undefined || change.removed.length > 0) return false
  const names = Object.keys(change.set)
  return names.length === 1 && names[0] === 'cookie'
}
