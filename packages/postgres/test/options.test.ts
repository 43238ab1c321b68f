import { isSessionError } from '@sessionkit/core'
import { expect, it } from 'vitest'
import { PostgresStore, type PostgresStoreOptions } from '../src/index'

const pool = { connect: () => Promise.reject(new Error('unused')), end: async () => {} }

it.each<[string, unknown]>([
  ['no options', undefined],
  ['neither pool nor connection string', {}],
  ['a pool that is none', { pool: {} }],
  ['a non-positive operationTimeoutMs', { pool, operationTimeoutMs: 0 }],
  ['negative serializationRetries', { pool, serializationRetries: -1 }],
  ['a zero cleanupLimit', { pool, cleanupLimit: 0 }],
  ['a zero cleanupIntervalMs', { pool, cleanupIntervalMs: 0 }],
  ['an empty table name', { pool, tableName: '' }],
  ['a table name longer than PostgreSQL keeps', { pool, tableName: 'x'.repeat(64) }],
])('%s is INVALID_OPTIONS', (_label, options) => {
  let thrown: unknown
  try {
    new PostgresStore(options as PostgresStoreOptions)
  } catch (err) {
    thrown = err
  }
  expect(isSessionError(thrown, 'INVALID_OPTIONS'), String(thrown)).toBe(true)
})

it('cleanupExpired refuses a limit that is not a positive integer', async () => {
  const store = new PostgresStore({ pool })
  await expect(store.cleanupExpired({ limit: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' })
})

it('after close() every operation rejects with STORE_UNAVAILABLE without touching the pool', async () => {
  let connects = 0
  const counted = {
    connect: () => {
      connects++
      return Promise.reject(new Error('unused'))
    },
    end: async () => {},
  }
  const store = new PostgresStore({ pool: counted })
  await store.close()
  await expect(store.load('x'.repeat(32))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
  expect(connects).toBe(0)
})
