import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisStore } from '../src/index'
import { newId } from './support'

/**
 * The finish's tools (docs/MIGRATION.md): `store.migration.count()` and `.convert()` on records
 * in connect-redis' format, while sessions are being read.
 */

let server: RedisServer
let shared: Redis

beforeAll(async () => {
  server = await startRedis()
  shared = new Redis(server.url)
})
afterAll(async () => {
  shared?.disconnect()
  await server?.stop()
})

/** `n` records exactly as connect-redis' `set` writes them (JSON.stringify, SET … EX), pipelined. */
async function writeLegacy(prefix: string, n: number): Promise<string[]> {
  const ids: string[] = []
  for (let start = 0; start < n; start += 5_000) {
    const pipeline = shared.pipeline()
    for (let i = start; i < Math.min(n, start + 5_000); i++) {
      const id = newId().slice(0, 32)
      ids.push(id)
      const sess = {
        cookie: {
          originalMaxAge: 3_600_000,
          expires: new Date(Date.now() + 3_600_000).toISOString(),
          secure: false,
          httpOnly: true,
          path: '/',
        },
        user: `user${i}`,
        cart: { items: [i, i + 1], total: i * 3 },
      }
      pipeline.set(`${prefix}${id}`, JSON.stringify(sess), 'EX', 3_600)
    }
    await pipeline.exec()
  }
  return ids
}

/** Redis' own CPU seconds (user + sys), from INFO cpu. */
async function redisCpu(): Promise<number> {
  const info = await shared.info('cpu')
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)![1])
  return field('used_cpu_user') + field('used_cpu_sys')
}

/** Loads random sessions in a loop until stopped; counts the ones not found (a logout). */
function readWhile(store: RedisStore, ids: string[]) {
  let running = true
  let reads = 0
  let missing = 0
  const loop = (async () => {
    while (running) {
      const id = ids[Math.floor(Math.random() * ids.length)]!
      const record = await store.load(id)
      reads++
      if (!record?.attributes.user) missing++
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      return { reads, missing }
    },
  }
}

describe('store.migration: count and convert', () => {
  it('counts each format, converts at a bounded rate, resumes from a cursor', async () => {
    const prefix = 'tools:'
    const store = new RedisStore({ client: shared, prefix, legacy: { prefix } })
    const ids = await writeLegacy(prefix, 2_000)
    // Keys under the prefix that are no session: left alone, never counted.
    await shared.set(`${prefix}not:a:session`, 'x')
    expect(await store.migration!.count()).toEqual({ legacy: 2_000, sessionkit: 0 })

    const stop = new AbortController()
    const first = await store.migration!.convert({
      batch: 100,
      ratePerSecond: 4_000,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.converted >= 500) stop.abort()
      },
    })
    expect(first.converted).toBeGreaterThanOrEqual(500)
    expect(first.cursor).toBeDefined()
    const between = await store.migration!.count()
    expect(between.legacy + between.sessionkit).toBe(2_000)
    expect(between.sessionkit).toBe(first.converted)

    const started = performance.now()
    const rest = await store.migration!.convert({ batch: 100, ratePerSecond: 4_000, cursor: first.cursor })
    const seconds = (performance.now() - started) / 1000
    expect(rest.cursor).toBeUndefined()
    expect(first.converted + rest.converted).toBe(2_000)
    // The rate bound holds: 1,500 sessions at 4,000 per second take at least 0.375 s.
    expect(seconds).toBeGreaterThanOrEqual((rest.scanned / 4_000) * 0.95)
    expect(await store.migration!.count()).toEqual({ legacy: 0, sessionkit: 2_000 })
    expect(await shared.get(`${prefix}not:a:session`)).toBe('x')
    for (const id of ids.slice(0, 50)) {
      const record = await store.load(id)
      expect(record?.attributes.cart).toBeDefined()
      expect(record!.expiresAt).toBeGreaterThan(Date.now() + 3_500_000)
    }
  })

  it('100,000 legacy records: count and convert under reads, none lost (figures printed)', {
    timeout: 300_000,
  }, async () => {
    const prefix = 'bulk:'
    const store = new RedisStore({ client: shared, prefix, legacy: { prefix } })
    const readerClient = new Redis(server.url)
    const reader = new RedisStore({ client: readerClient, prefix, legacy: { prefix } })
    const ids = await writeLegacy(prefix, 100_000)

    let cpu = await redisCpu()
    let started = performance.now()
    expect(await store.migration!.count()).toEqual({ legacy: 100_000, sessionkit: 0 })
    const countMs = performance.now() - started
    const countCpu = (await redisCpu()) - cpu

    const reads = readWhile(reader, ids)
    cpu = await redisCpu()
    started = performance.now()
    const result = await store.migration!.convert({ batch: 500, ratePerSecond: 20_000 })
    const convertMs = performance.now() - started
    const convertCpu = (await redisCpu()) - cpu
    const { reads: done, missing } = await reads.stop()
    readerClient.disconnect()

    console.log(
      [
        'store.migration on 100,000 connect-redis records (one redis-server, 2 shared cores)',
        `  count: ${countMs.toFixed(0)} ms, Redis CPU ${countCpu.toFixed(2)} s`,
        `  convert (batch 500, ratePerSecond 20000): ${convertMs.toFixed(0)} ms (${((100_000 / convertMs) * 1000).toFixed(0)} sessions/s), Redis CPU ${convertCpu.toFixed(2)} s`,
        `  concurrent loads of random sessions: ${done}, not found: ${missing}`,
      ].join('\n'),
    )
    expect(result).toMatchObject({ scanned: 100_000, converted: 100_000, skipped: 0, cursor: undefined })
    expect(missing).toBe(0)
    expect(done).toBeGreaterThan(0)
    expect(await store.migration!.count()).toEqual({ legacy: 0, sessionkit: 100_000 })
  })
})
