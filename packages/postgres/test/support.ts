import { randomBytes } from 'node:crypto'
import type { SessionMeta } from '@sessionkit/core'
import { isSessionError } from '@sessionkit/core'
import pg from 'pg'
import { PostgresStore, type PostgresStoreOptions } from '../src/index'

export function newId(): string {
  return randomBytes(24).toString('base64url')
}

export function meta(ttlMs = 600_000, principal?: string): SessionMeta {
  const now = Date.now()
  return { createdAt: now, lastAccessedAt: now, maxInactiveMs: ttlMs, expiresAt: now + ttlMs, principal }
}

/** A pool of its own per store, as two app instances have; connection errors are expected in outage tests. */
export function newPool(url: string, config: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 4, ...config })
  pool.on('error', () => {})
  return pool
}

/** Pools the stores of a test own, so a case can take one offline and dispose of it. */
export const owned = new WeakMap<PostgresStore, pg.Pool>()

/** A store on its own pool, on a table it creates once (tables are keyed by name). */
const created = new Map<string, Promise<void>>()
export async function storeOn(
  url: string,
  tableName: string,
  options: Partial<PostgresStoreOptions> = {},
  poolConfig: pg.PoolConfig = {},
): Promise<PostgresStore> {
  const pool = newPool(url, poolConfig)
  const store = new PostgresStore({ pool, tableName, operationTimeoutMs: 2000, ...options })
  owned.set(store, pool)
  let done = created.get(`${options.schemaName ?? ''}.${tableName}`)
  if (!done) {
    done = store.createSchema()
    created.set(`${options.schemaName ?? ''}.${tableName}`, done)
  }
  await done
  return store
}

export async function dispose(store: PostgresStore): Promise<void> {
  await store.close()
  const pool = owned.get(store)
  if (pool && !pool.ending) await pool.end()
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
