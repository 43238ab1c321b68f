import { randomBytes } from 'node:crypto'
import type { SessionMeta } from '@sessionkit/core'
import { isSessionError } from '@sessionkit/core'
import type { Cluster, Redis } from 'ioredis'
import { RedisStore } from '../src/index'

export function newId(): string {
  return randomBytes(32).toString('base64url')
}

export function meta(ttlMs = 600_000, principal?: string): SessionMeta {
  const now = Date.now()
  return { createdAt: now, lastAccessedAt: now, maxInactiveMs: ttlMs, expiresAt: now + ttlMs, principal }
}

/** Hooks shared by the three conformance runs: what the backend holds for an id. */
export async function readRaw(store: RedisStore, id: string, client: Redis | Cluster) {
  const hash = await client.hgetall(store.key(id))
  return Object.keys(hash).length > 0 ? hash : undefined
}

/** Clients each store owns in the conformance runs, so one case can take its store offline. */
export const owned = new WeakMap<RedisStore, Redis | Cluster>()

export function ownedStore(client: Redis | Cluster, namespace: string): RedisStore {
  const store = new RedisStore({ client, prefix: `${namespace}:`, commandTimeoutMs: 2000 })
  owned.set(store, client)
  return store
}

/** The outcome and duration of one store call, never throwing. */
export async function timed<T>(fn: () => Promise<T>) {
  const started = performance.now()
  try {
    const value = await fn()
    return { ok: true as const, value, ms: performance.now() - started }
  } catch (error) {
    return {
      ok: false as const,
      error,
      unavailable: isSessionError(error, 'STORE_UNAVAILABLE'),
      ms: performance.now() - started,
    }
  }
}

/** Outage tests expect connection errors; a listener keeps ioredis from printing each one. */
export function quiet<C extends Redis | Cluster>(client: C): C {
  client.on('error', () => {})
  return client
}
