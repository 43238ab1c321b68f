import { type PostgresServer, startPostgres, waitFor } from '@sessionkit/test-servers'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { PostgresStore } from '../src/index'
import { dispose, meta, newId, newPool, owned, storeOn, timed } from './support'

const BOUND_MS = 500

let server: PostgresServer
const stores: PostgresStore[] = []
beforeAll(async () => {
  server = await startPostgres()
})
afterAll(async () => {
  for (const s of stores) await dispose(s)
  await server?.stop()
})

async function store(): Promise<PostgresStore> {
  const s = await storeOn(server.url, 'rotation', { operationTimeoutMs: BOUND_MS })
  stores.push(s)
  return s
}

async function session(s: PostgresStore) {
  const id = newId()
  expect(await s.save({ id, isNew: true, meta: meta(), set: { cart: '["apple"]' }, removed: [] })).toBe(
    'saved',
  )
  return id
}

const rotation = (previousId: string, id: string) => ({
  id,
  previousId,
  isNew: false,
  meta: { ...meta(), principal: 'alice' },
  set: { cart: '["apple"]' },
  removed: [],
})

/** Another connection holding the row lock of `id` until `release(sql)`. */
async function lockRow(s: PostgresStore, id: string) {
  const pool = newPool(server.url)
  const holder = await pool.connect()
  await holder.query('BEGIN')
  await holder.query(`SELECT 1 FROM ${s.table} WHERE id = $1 FOR UPDATE`, [id])
  return async (sql?: string) => {
    if (sql) await holder.query(sql, [id])
    await holder.query('COMMIT')
    holder.release()
    await pool.end()
  }
}

it('a rotation whose answer does not come in time (stuck on a lock) answers saved, and does commit exactly once', async () => {
  const s = await store()
  const old = await session(s)
  const release = await lockRow(s, old)
  const id = newId()
  const r = await timed(() => s.save(rotation(old, id)))
  // Before: STORE_UNAVAILABLE, while the statement went on and committed once the lock was free:
  // the old id dead and the new one never sent to the client.
  expect(r.ok && r.value, String(!r.ok && r.error)).toBe('saved')
  expect(r.ms).toBeLessThan(BOUND_MS + 400)
  await release()
  await s.settled()
  expect(await s.load(old)).toBeUndefined()
  expect((await s.load(id))!.attributes.cart).toBe('["apple"]')
  expect((await s.findByPrincipal('alice')).map((x) => x.id)).toContain(id)
})

it('…and when a logout deletes the old id meanwhile, nothing of the session is left under either id', async () => {
  const s = await store()
  const old = await session(s)
  const release = await lockRow(s, old)
  const id = newId()
  expect(await s.save(rotation(old, id))).toBe('saved')
  await release(`DELETE FROM ${s.table} WHERE id = $1`)
  await s.settled()
  expect(await s.load(old)).toBeUndefined()
  expect(await s.load(id)).toBeUndefined()
  expect(await s.readRaw(id)).toBeUndefined()
})

it('a rotation never sent (the database refuses connections) is STORE_UNAVAILABLE, and the old id is untouched', async () => {
  const s = await store()
  const old = await session(s)
  await server.kill()
  // The pool notices its connections died (else a statement may still be written to one, and
  // then nobody can tell whether it arrived): from now on nothing can be sent.
  await waitFor('the pool to drop its dead connections', async () => owned.get(s)!.totalCount === 0, 5_000, 5)
  try {
    const r = await timed(() => s.save(rotation(old, newId())))
    expect(!r.ok && r.unavailable, String(!r.ok && r.error)).toBe(true)
  } finally {
    await server.restart()
  }
  await s.settled()
  // The pool's connections died with the server: the first call after the restart may still fail.
  await s.load(old).catch(() => undefined)
  expect((await s.load(old))!.attributes.cart).toBe('["apple"]')
})

it('a rotation sent to a hung server (SIGSTOP) answers saved and commits once the server resumes', async () => {
  const s = await store()
  const old = await session(s)
  await server.pause()
  const id = newId()
  try {
    expect(await s.save(rotation(old, id))).toBe('saved')
  } finally {
    server.resume()
  }
  await s.settled()
  expect(await s.load(old)).toBeUndefined()
  expect((await s.load(id))!.attributes.cart).toBe('["apple"]')
})

it('a load of the new id in the same process waits for the rotation sent again, instead of missing it', async () => {
  const s = await storeOn(server.url, 'rotation', { operationTimeoutMs: 1000 })
  stores.push(s)
  const old = await session(s)
  // Open connections, so the load below is sent at once (before the lock is released).
  await Promise.all(Array.from({ length: 4 }, () => s.load(newId())))
  const release = await lockRow(s, old)
  const id = newId()
  expect(await s.save(rotation(old, id))).toBe('saved')
  let answered = false
  const loading = s.load(id).finally(() => {
    answered = true
  })
  // A load of another id, sent after it, has answered: without the wait, this one would have too.
  await s.load(newId())
  expect(answered, 'the load answered while the rotation was still pending').toBe(false)
  await release()
  expect((await loading)?.attributes.cart).toBe('["apple"]')
  await s.settled()
})
