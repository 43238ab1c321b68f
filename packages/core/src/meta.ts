import type { SessionMeta, SessionMetaChange, SessionTouch } from './types'

/**
 * The metadata a store keeps after applying one save's or touch's metadata to an existing
 * record, by the rules of {@link SessionMetaChange}: times only move forward unless this
 * request changed the idle timeout; owner and idle timeout change only when given. For stores
 * that merge in process (memory, a read-modify-write under a lock); a remote store states the
 * same rules in its own conditional write.
 *
 * @example
 * ```ts
 * entry.meta = mergeMeta(entry.meta, change.meta)
 * ```
 */
export function mergeMeta(stored: SessionMeta, delta: SessionMetaChange): SessionMeta {
  const timeoutChanged = delta.maxInactiveMs !== undefined
  const merged: SessionMeta = {
    createdAt: stored.createdAt,
    lastAccessedAt: Math.max(stored.lastAccessedAt, delta.lastAccessedAt),
    maxInactiveMs: timeoutChanged ? delta.maxInactiveMs! : stored.maxInactiveMs,
    expiresAt: timeoutChanged ? delta.expiresAt : Math.max(stored.expiresAt, delta.expiresAt),
  }
  const principal = delta.principal === undefined ? stored.principal : (delta.principal ?? undefined)
  if (principal !== undefined) merged.principal = principal
  return merged
}

/**
 * The metadata a store keeps after a touch: only the access time and expiry, each moving
 * forward. Whatever else the argument carries is ignored (a touch never writes the owner).
 *
 * @example
 * ```ts
 * entry.meta = touchedMeta(entry.meta, { lastAccessedAt: now, expiresAt: now + ttl })
 * ```
 */
export function touchedMeta(stored: SessionMeta, touch: SessionTouch): SessionMeta {
  return {
    ...stored,
    lastAccessedAt: Math.max(stored.lastAccessedAt, touch.lastAccessedAt),
    expiresAt: Math.max(stored.expiresAt, touch.expiresAt),
  }
}

/**
 * The metadata of a record a create or rotation writes: exactly what the change carries.
 *
 * @example
 * ```ts
 * const entry = { meta: createdMeta(change.meta), attributes: new Map(Object.entries(change.set)) }
 * ```
 */
export function createdMeta(change: SessionMetaChange): SessionMeta {
  const meta: SessionMeta = {
    createdAt: change.createdAt,
    lastAccessedAt: change.lastAccessedAt,
    maxInactiveMs: change.maxInactiveMs ?? change.expiresAt - change.lastAccessedAt,
    expiresAt: change.expiresAt,
  }
  if (typeof change.principal === 'string') meta.principal = change.principal
  return meta
}
