import { isSessionError } from '@sessionkit/core'
import { type PostgresServer, startPostgres, waitFor } from '@sessionkit/test-servers'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { PostgresStore } from '../src/index'
import { dispose, meta, newId, newPool, owned, storeOn, timed } from './support'

const BOUND_MS = 1000
// Timer and event-loop slack on a loaded 2-core machine.
const SLACK_MS = 400

let server: PostgresServer
const stores: PostgresStore[] = []
beforeAll(async () => {
  server = await startPostgres()
})
afterAll(async () => {
  for (const s of stores) await dispose(s)
  await server?.stop()
})

async function store(table = 'outage'): Promise<PostgresStore> {
  const s = await storeOn(server.url, table, { operationTimeoutMs: BOUND_MS })
  stores.push(s)
  return s
}

/**
 * Every operation but rotation, each timed; none may resolve or take longer than the bound.
 * (A rotation sent without an answer answers `saved`: rotation.test.ts.)
 */
async function everyOperation(s: PostgresStore, id: string) {
  return Promise.all([
    timed(() => s.load(id)),
    timed(() => s.save({ id: newId(), isNew: true, meta: meta(), set: { a: '1' }, removed: [] })),
    timed(() => s.save({ id, isNew: false, meta: meta(), set: { a: '2' }, removed: [] })),
    timed(() => s.touch(id, meta())),
    timed(() => s.delete(newId())),
    timed(() => s.findByPrincipal('nobody')),
    timed(() => s.cleanupExpired({ limit: 10 })),
  ])
}

function expectUnavailableWithinBound(results: Awaited<ReturnType<typeof everyOperation>>) {
  for (const r of results) {
    expect(r.ok, 'an operation succeeded on a database that is down').toBe(false)
    expect(!r.ok && r.unavailable, String(!r.ok && r.error)).toBe(true)
    expect(r.ms).toBeLessThan(BOUND_MS + SLACK_MS)
  }
}

it('database stopped: every operation fails with STORE_UNAVAILABLE within the bound, then the same store works again', async () => {
  const s = await store()
  const id = newId()
  expect(await s.save({ id, isNew: true, meta: meta(), set: { a: '1' }, removed: [] })).toBe('saved')
  // Pooled connections exist, so the outage breaks open connections, not only new ones.
  await server.kill()
  const during = await everyOperation(s, id)
  console.info(
    'while down:',
    during.map((r) => `${r.ok ? 'ok' : (r.error as Error).message} ${r.ms.toFixed(0)}ms`),
  )
  expectUnavailableWithinBound(during)

  await server.restart()
  const restarted = performance.now()
  // Durable data survives a crash restart: the session is still there for the same store.
  await waitFor(
    'the store to work again',
    async () => (await s.load(id).catch(() => undefined)) !== undefined,
    15_000,
    50,
  )
  console.info(`working again ${(performance.now() - restarted).toFixed(0)} ms after restart`)
  expect((await s.load(id))!.attributes.a).toBe('1')
})

it('database hung (SIGSTOP of every server process): operations fail within the bound, and work after SIGCONT', async () => {
  const s = await store()
  const id = newId()
  expect(await s.save({ id, isNew: true, meta: meta(), set: { a: '1' }, removed: [] })).toBe('saved')
  await server.pause()
  try {
    const during = await everyOperation(s, id)
    console.info(
      'while hung:',
      during.map((r) => `${r.ok ? 'ok' : (r.error as Error).message} ${r.ms.toFixed(0)}ms`),
    )
    expectUnavailableWithinBound(during)
  } finally {
    server.resume()
  }
  // The hung connections were destroyed, not returned: the pool serves again at once.
  await waitFor(
    'the store to work again',
    async () => (await s.load(id).catch(() => undefined)) !== undefined,
    10_000,
    50,
  )
  expect(await s.save({ id, isNew: false, meta: meta(), set: { b: '2' }, removed: [] })).toBe('saved')
})

it('pool exhausted: an operation waiting for a connection fails within the bound; the late connection goes back to the pool', async () => {
  const s = await storeOn(server.url, 'outage', { operationTimeoutMs: BOUND_MS }, { max: 1 })
  stores.push(s)
  const pool = owned.get(s)!
  const hog = await pool.connect()
  const r = await timed(() => s.load(newId()))
  expect(r.ok).toBe(false)
  expect(!r.ok && r.unavailable).toBe(true)
  expect(r.ms).toBeLessThan(BOUND_MS + SLACK_MS)
  hog.release()
  // The connection the timed-out operation was still waiting for is handed back, not leaked.
  await waitFor(
    'the pool to be idle again',
    async () => pool.idleCount === 1 && pool.waitingCount === 0,
    5_000,
    10,
  )
  expect(await s.load(newId())).toBeUndefined()
})

it('statement timeout (the server cancels a save stuck on a lock): STORE_UNAVAILABLE at once', async () => {
  const s = await storeOn(server.url, 'outage', { operationTimeoutMs: 5_000 }, { statement_timeout: 200 })
  stores.push(s)
  const id = newId()
  expect(await s.save({ id, isNew: true, meta: meta(), set: { a: '1' }, removed: [] })).toBe('saved')
  const locker = newPool(server.url)
  const holder = await locker.connect()
  try {
    await holder.query('BEGIN')
    await holder.query(`SELECT 1 FROM ${s.table} WHERE id = $1 FOR UPDATE`, [id])
    const r = await timed(() => s.save({ id, isNew: false, meta: meta(), set: { a: '2' }, removed: [] }))
    expect(r.ok).toBe(false)
    expect(!r.ok && r.unavailable, String(!r.ok && r.error)).toBe(true)
    expect(String(!r.ok && r.error)).toMatch(/57014/)
    expect(r.ms).toBeLessThan(200 + SLACK_MS + 500)
  } finally {
    await holder.query('ROLLBACK')
    holder.release()
    await locker.end()
  }
  expect((await s.load(id))!.attributes.a).toBe('1')
})

it('a save stuck on a lock without a statement timeout fails at the bound; its connection is destroyed, not reused', async () => {
  const s = await store()
  const id = newId()
  expect(await s.save({ id, isNew: true, meta: meta(), set: { a: '1' }, removed: [] })).toBe('saved')
  const locker = newPool(server.url)
  const holder = await locker.connect()
  try {
    await holder.query('BEGIN')
    await holder.query(`SELECT 1 FROM ${s.table} WHERE id = $1 FOR UPDATE`, [id])
    const r = await timed(() => s.save({ id, isNew: false, meta: meta(), set: { a: '2' }, removed: [] }))
    expect(!r.ok && r.unavailable).toBe(true)
    expect(r.ms).toBeLessThan(BOUND_MS + SLACK_MS)
    expect(r.ms).toBeGreaterThanOrEqual(BOUND_MS - 5)
    expect(
      owned.get(s)!.totalCount,
      'the stuck connection was returned to the pool instead of destroyed',
    ).toBe(0)
  } finally {
    await holder.query('ROLLBACK')
    holder.release()
    await locker.end()
  }
  // What the README warns about: the server still ran the abandoned statement once the lock was
  // free (the app's pool had no statement_timeout). It is conditional, so it never resurrects.
  await waitFor(
    'the abandoned save to commit',
    async () => (await s.load(id))?.attributes.a === '2',
    5_000,
    20,
  )
  expect(await s.save({ id, isNew: false, meta: meta(), set: { b: '3' }, removed: [] })).toBe('saved')
})

it('writes reaching a read-only server (a standby after a failover) are STORE_UNAVAILABLE; reads still work', async () => {
  const writer = await store()
  const id = newId()
  expect(await writer.save({ id, isNew: true, meta: meta(), set: { a: '1' }, removed: [] })).toBe('saved')
  const standby = await storeOn(server.url, 'outage', {}, { options: '-c default_transaction_read_only=on' })
  stores.push(standby)
  expect((await standby.load(id))!.attributes.a).toBe('1')
  for (const op of [
    (): Promise<unknown> => standby.save({ id, isNew: false, meta: meta(), set: { a: '2' }, removed: [] }),
    () => standby.save({ id: newId(), isNew: true, meta: meta(), set: {}, removed: [] }),
    () => standby.touch(id, meta()),
    () => standby.delete(id),
  ]) {
    const r = await timed(op)
    expect(!r.ok && r.unavailable, String(!r.ok && r.error)).toBe(true)
    expect(String(!r.ok && r.error)).toMatch(/25006/)
  }
})

it('other database errors are STORE_ERROR: a missing table, an attribute name PostgreSQL cannot store', async () => {
  const pool = newPool(server.url)
  const { PostgresStore } = await import('../src/index')
  const missing = new PostgresStore({ pool, tableName: 'no_such_table' })
  try {
    const r = await timed(() => missing.load(newId()))
    expect(!r.ok && isSessionError(r.error, 'STORE_ERROR'), String(!r.ok && r.error)).toBe(true)
    expect(String(!r.ok && r.error)).toMatch(/42P01/)
  } finally {
    await missing.close()
    await pool.end()
  }
  const s = await store()
  const r = await timed(() =>
    s.save({ id: newId(), isNew: true, meta: meta(), set: { 'a\u0000b': '1' }, removed: [] }),
  )
  expect(!r.ok && isSessionError(r.error, 'STORE_ERROR'), String(!r.ok && r.error)).toBe(true)
})
