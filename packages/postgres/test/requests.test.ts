import { startPostgres } from '@sessionkit/test-servers'
import { afterAll, expect, it } from 'vitest'
import { type PgPool, PostgresStore } from '../src/index'
import { meta, newId, newPool } from './support'

const server = await startPostgres()
const pool = newPool(server.url)
afterAll(async () => {
  await pool.end()
  await server.stop()
})

/** The pool, counting the statements sent: each is one round trip (node-postgres sends one at a time). */
function counting(inner: PgPool) {
  const sent: string[] = []
  const wrapped: PgPool = {
    end: () => inner.end(),
    connect: async () => {
      const client = await inner.connect()
      return {
        query: (config) => {
          sent.push(config.text.trim().split(/\s+/)[0]!)
          return client.query(config)
        },
        release: (err) => client.release(err),
      }
    },
  }
  return { wrapped, sent }
}

it('one statement (one round trip) per load, save, new session, rotation, touch, delete and findByPrincipal', async () => {
  const { wrapped, sent } = counting(pool)
  const store = new PostgresStore({ pool: wrapped, tableName: 'requests' })
  await store.createSchema()
  const count = async (fn: () => Promise<unknown>) => {
    sent.length = 0
    await fn()
    return [...sent]
  }
  const id = newId()
  const rotated = newId()
  const costs = {
    'new session': await count(() =>
      store.save({ id, isNew: true, meta: meta(), set: { a: '1' }, removed: [] }),
    ),
    load: await count(() => store.load(id)),
    'load (miss)': await count(() => store.load(newId())),
    save: await count(() => store.save({ id, isNew: false, meta: meta(), set: { b: '2' }, removed: ['a'] })),
    touch: await count(() => store.touch(id, meta())),
    rotation: await count(() =>
      store.save({
        id: rotated,
        previousId: id,
        isNew: false,
        meta: { ...meta(), principal: 'p' },
        set: {},
        removed: [],
      }),
    ),
    findByPrincipal: await count(() => store.findByPrincipal('p')),
    delete: await count(() => store.delete(rotated)),
  }
  console.info(costs)
  for (const [op, statements] of Object.entries(costs)) expect(statements, op).toHaveLength(1)
  await store.close()
})

it('with legacy (connect-pg-simple) reads: a miss costs a second statement; a moved session is one again', async () => {
  const { wrapped, sent } = counting(pool)
  await pool.query(
    'CREATE TABLE IF NOT EXISTS session (sid varchar PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)',
  )
  const store = new PostgresStore({ pool: wrapped, tableName: 'requests', legacy: {} })
  const sid = newId()
  await pool.query("INSERT INTO session VALUES ($1, $2, now() + interval '1 hour')", [
    sid,
    JSON.stringify({ cookie: { originalMaxAge: 3_600_000 }, user: 'alice' }),
  ])
  sent.length = 0
  expect(await store.load(newId())).toBeUndefined()
  expect(sent).toEqual(['SELECT', 'SELECT'])
  sent.length = 0
  await store.save({ id: sid, isNew: false, meta: meta(), set: { b: '1' }, removed: [] })
  // The update that finds no row, then the move in one transaction.
  expect(sent).toEqual(['UPDATE', 'BEGIN', 'DELETE', 'INSERT', 'COMMIT'])
  sent.length = 0
  await store.load(sid)
  expect(sent).toEqual(['SELECT'])
  await store.close()
})

it('with legacy keep (mixed fleet): what a session in connect-pg-simple’s format costs', async () => {
  const { wrapped, sent } = counting(pool)
  await pool.query(
    'CREATE TABLE IF NOT EXISTS session (sid varchar PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)',
  )
  const store = new PostgresStore({ pool: wrapped, tableName: 'requests', legacy: { keep: true } })
  const count = async (fn: () => Promise<unknown>) => {
    sent.length = 0
    await fn()
    return [...sent]
  }
  const id = newId()
  const rotated = newId()
  const costs = {
    'new session': await count(() =>
      store.save({ id, isNew: true, meta: meta(), set: { a: '1' }, removed: [] }),
    ),
    load: await count(() => store.load(id)),
    save: await count(() => store.save({ id, isNew: false, meta: meta(), set: { b: '2' }, removed: [] })),
    touch: await count(() => store.touch(id, meta())),
    rotation: await count(() =>
      store.save({ id: rotated, previousId: id, isNew: false, meta: meta(), set: { a: '1' }, removed: [] }),
    ),
  }
  console.info(costs)
  expect(costs).toEqual({
    'new session': ['INSERT'],
    load: ['SELECT', 'SELECT'],
    save: ['UPDATE', 'BEGIN', 'SELECT', 'UPDATE', 'COMMIT'],
    touch: ['UPDATE', 'BEGIN', 'SELECT', 'UPDATE', 'COMMIT'],
    rotation: ['WITH', 'BEGIN', 'SELECT', 'INSERT', 'DELETE', 'COMMIT'],
  })
  await store.close()
})
