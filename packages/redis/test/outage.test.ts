import { isSessionError } from '@sessionkit/core'
import { type RedisServer, startRedis, waitFor } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisStore } from '../src/index'
import { meta, newId, quiet, timed } from './support'

const BOUND_MS = 1000
// Timer and event-loop slack on a loaded 2-core machine.
const SLACK_MS = 300

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => server?.stop())

describe.each([
  // ioredis defaults: offline queue on, 20 retries per request. The store's own bound still holds.
  ['ioredis defaults', {}],
  ['recommended options', { maxRetriesPerRequest: 1, enableOfflineQueue: false }],
])('Redis stopped mid-test (%s)', (_label, clientOptions) => {
  it('fails with STORE_UNAVAILABLE within the bound, then works again without a new store', async () => {
    const client = quiet(new Redis(server.url, clientOptions))
    // Without an offline queue, commands sent before the connection is ready fail at once.
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve))
    const store = new RedisStore({
      client,
      commandTimeoutMs: BOUND_MS,
      prefix: `outage-${newId().slice(0, 6)}:`,
    })
    const id = newId()
    expect(await store.save({ id, isNew: true, meta: meta(), set: { a: '1' }, removed: [] })).toBe('saved')

    await server.kill()
    const during = await Promise.all([
      timed(() => store.load(id)),
      timed(() => store.save({ id, isNew: false, meta: meta(), set: { a: '2' }, removed: [] })),
      timed(() => store.touch(id, meta())),
      timed(() => store.delete(newId())),
      timed(() => store.findByPrincipal('nobody')),
    ])
    console.info(
      `[${_label}] while down:`,
      during.map((r) => `${r.ok ? 'ok' : (r.error as Error).message} ${r.ms.toFixed(0)}ms`),
    )
    for (const r of during) {
      expect(r.ok).toBe(false)
      expect(r.ok || r.unavailable).toBe(true)
      expect(r.ms).toBeLessThan(BOUND_MS + SLACK_MS)
    }

    await server.restart()
    const restarted = Date.now()
    // The server came back empty (no persistence): a working store answers a create.
    const fresh = newId()
    await waitFor(
      'the store to work again',
      async () =>
        (await store.save({ id: fresh, isNew: true, meta: meta(), set: { b: '1' }, removed: [] })) ===
        'saved',
      15_000,
      50,
    )
    console.info(`[${_label}] working again ${Date.now() - restarted} ms after restart`)
    expect((await store.load(fresh))!.attributes.b).toBe('1')
    client.disconnect()
  })
})

it('a hung server (SIGSTOP) also fails within the bound', async () => {
  const client = quiet(new Redis(server.url))
  const store = new RedisStore({ client, commandTimeoutMs: BOUND_MS })
  await client.ping()
  await server.pause()
  try {
    const r = await timed(() => store.load(newId()))
    console.info(`paused server: ${r.ok ? 'ok' : (r.error as Error).message} after ${r.ms.toFixed(0)} ms`)
    expect(r.ok).toBe(false)
    expect(!r.ok && isSessionError(r.error, 'STORE_UNAVAILABLE')).toBe(true)
    expect(r.ms).toBeLessThan(BOUND_MS + SLACK_MS)
  } finally {
    server.resume()
  }
  expect(await store.load(newId())).toBeUndefined()
  client.disconnect()
})
