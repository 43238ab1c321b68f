import { randomBytes } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { describeStoreConformance } from '@sessionkit/conformance/vitest'
import type { SessionMeta } from '@sessionkit/core'
import { isSessionError } from '@sessionkit/core'
import type { Cluster, Redis } from 'ioredis'
import { expect } from 'vitest'
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

/** The conformance suite on one topology: each case gets a store with its own client. */
export function describeConformanceOn(
  name: string,
  connect: () => Redis | Cluster,
  shared: Redis | Cluster,
): void {
  describeStoreConformance({
    name: `RedisStore (${name})`,
    createStore: ({ namespace }) => ownedStore(connect(), namespace),
    disposeStore: (store) => owned.get(store)?.disconnect(),
    // The store's own client goes away; the shared server keeps serving the concurrent cases.
    makeUnavailable: async (store) => owned.get(store)!.disconnect(),
    readRaw: (store, id) => readRaw(store, id, shared),
    // What a foreign writer leaves: a hash without numeric metadata and a truncated attribute.
    corrupt: async (store, id) => {
      await shared.hset(store.key(id), 'expiresAt', 'soon', 'a:cart', '{"items":[')
      await shared.pexpire(store.key(id), 60_000)
    },
  })
}

/**
 * Keeps saving through a failover until one succeeds (or `deadlineMs` passes). Every failure
 * meanwhile must be STORE_UNAVAILABLE; answers when the first success came and the slowest call.
 */
export async function saveThroughFailover(
  save: () => Promise<unknown>,
  killedAt: number,
  deadlineMs: number,
) {
  let slowest = 0
  let firstSuccess: number | undefined
  let failures = 0
  while (firstSuccess === undefined && performance.now() - killedAt < deadlineMs) {
    const r = await timed(save)
    slowest = Math.max(slowest, r.ms)
    if (r.ok) {
      expect(r.value).toBe('saved')
      firstSuccess = performance.now() - killedAt
    } else {
      failures++
      expect(r.unavailable, String(r.error)).toBe(true)
      // Client traffic at a steady pace, not a wait for an event: a fast failure (a refused
      // connection) would otherwise spin thousands of times through the failover.
      await delay(20)
    }
  }
  return { firstSuccess, failures, slowest }
}

export const FAILOVER_BOUND_MS = 1500

/**
 * The two stores of a failover test on one client: `durable` waits for a replica and refuses a
 * shortfall; `lenient` accepts one (a promoted master may have no replica left).
 */
export function failoverStores(client: Redis | Cluster) {
  const wait = { replicas: 1, timeoutMs: 500 }
  const options = { client, prefix: 'fo:', commandTimeoutMs: FAILOVER_BOUND_MS }
  return {
    wait,
    durable: new RedisStore({ ...options, waitForReplicas: wait }),
    lenient: new RedisStore({ ...options, waitForReplicas: { ...wait, onShortfall: 'accept' } }),
  }
}

/** Saves `count` sessions with the durable store; each must be acknowledged. */
export async function saveAcknowledged(store: RedisStore, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => newId())
  const saved = await Promise.all(
    ids.map((id, n) => store.save({ id, isNew: true, meta: meta(), set: { n: String(n) }, removed: [] })),
  )
  expect(saved.every((r) => r === 'saved')).toBe(true)
  return ids
}

/**
 * Commands `client`'s connection sent while `fn` ran, seen through MONITOR on `observer`;
 * commands run inside scripts are left out.
 */
export async function commandsSent(
  observer: Redis,
  client: Redis,
  fn: () => Promise<unknown>,
): Promise<string[]> {
  const addr = /addr=(\S+)/.exec(String(await client.client('INFO')))![1]
  const monitor = await observer.monitor()
  const seen: string[] = []
  let done: () => void = () => {}
  const finished = new Promise<void>((r) => {
    done = r
  })
  let recording = false
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== addr) return
    if (args[0] === 'echo' && args[1] === 'start') recording = true
    else if (args[0] === 'echo' && args[1] === 'end') {
      recording = false
      done()
    } else if (recording) seen.push(args[0]!.toLowerCase())
  })
  await client.echo('start')
  await fn()
  await client.echo('end')
  await finished
  monitor.disconnect()
  return seen
}
