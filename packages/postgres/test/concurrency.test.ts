import { startPostgres } from '@sessionkit/test-servers'
import { afterAll, expect, it } from 'vitest'
import type { PostgresStore } from '../src/index'
import { dispose, meta, newId, storeOn } from './support'

const server = await startPostgres()
const stores: PostgresStore[] = []
afterAll(async () => {
  for (const s of stores) await dispose(s)
  await server.stop()
})

async function store(options: Parameters<typeof storeOn>[2] = {}, pool: Parameters<typeof storeOn>[3] = {}) {
  const s = await storeOn(server.url, 'concurrency', options, pool)
  stores.push(s)
  return s
}

const TRIALS = 40
const WRITERS = 8

/** Each writer saves its own attribute of one session through its own store; answers what loads back. */
async function trial(writers: PostgresStore[]) {
  const id = newId()
  expect(await writers[0]!.save({ id, isNew: true, meta: meta(), set: { base: '0' }, removed: [] })).toBe(
    'saved',
  )
  const results = await Promise.allSettled(
    writers.map((s, n) =>
      s.save({ id, isNew: false, meta: meta(), set: { [`w${n}`]: String(n) }, removed: [] }),
    ),
  )
  return { results, record: await writers[0]!.load(id) }
}

it(`separate pools saving different attributes of one session: every attribute persists (${TRIALS} trials × ${WRITERS} writers)`, async () => {
  const [a, b] = [await store(), await store()]
  const writers = Array.from({ length: WRITERS }, (_, n) => (n % 2 === 0 ? a : b))
  for (let t = 0; t < TRIALS; t++) {
    const { results, record } = await trial(writers)
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason)))).toEqual(
      Array(WRITERS).fill('saved'),
    )
    const expected = Object.fromEntries([['base', '0'], ...writers.map((_, n) => [`w${n}`, String(n)])])
    expect({ ...record!.attributes }).toEqual(expected)
  }
})

// Under SERIALIZABLE (a database whose default isolation is serializable), concurrent UPDATEs of
// one row fail with 40001 instead of waiting: the store runs them again, a bounded number of times.
const serializable = { options: '-c default_transaction_isolation=serializable' }

it('serialization failures are retried: the same race under SERIALIZABLE still keeps every attribute', async () => {
  const [a, b] = [await store({}, serializable), await store({}, serializable)]
  const writers = Array.from({ length: WRITERS }, (_, n) => (n % 2 === 0 ? a : b))
  for (let t = 0; t < TRIALS; t++) {
    const { results, record } = await trial(writers)
    expect(results.every((r) => r.status === 'fulfilled' && r.value === 'saved')).toBe(true)
    expect(Object.keys(record!.attributes)).toHaveLength(WRITERS + 1)
  }
})

it('…and without retries the same race does fail (the test above can fail), as STORE_UNAVAILABLE', async () => {
  const opts = { serializationRetries: 0 }
  const [a, b] = [await store(opts, serializable), await store(opts, serializable)]
  const writers = Array.from({ length: WRITERS }, (_, n) => (n % 2 === 0 ? a : b))
  const failures: unknown[] = []
  for (let t = 0; t < TRIALS && failures.length === 0; t++) {
    const { results } = await trial(writers)
    for (const r of results) if (r.status === 'rejected') failures.push(r.reason)
  }
  expect(failures.length).toBeGreaterThan(0)
  for (const f of failures) {
    expect((f as { code?: string }).code).toBe('STORE_UNAVAILABLE')
    expect(String(f)).toMatch(/40001/)
  }
})
