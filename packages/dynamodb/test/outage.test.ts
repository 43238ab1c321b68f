import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { isSessionError } from '@sessionkit/core'
import { type DynamoDBLocal, startDynamoDB, waitFor } from '@sessionkit/test-servers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meta, newId, storeOn, timed } from './support'

const BOUND_MS = 1000
// Timer and event-loop slack on a loaded 2-core machine.
const SLACK_MS = 300

let server: DynamoDBLocal
beforeAll(async () => {
  // On disk, so the table and items outlive the restart: an outage, not a data loss.
  server = await startDynamoDB({ persistent: true })
  const admin = new DynamoDBClient(server.clientConfig)
  await storeOn(admin).ensureTable()
  admin.destroy()
})
afterAll(() => server?.stop())

describe.each([
  ['SDK defaults', {}],
  ['one attempt', { maxAttempts: 1 }],
])('DynamoDB Local stopped mid-test (%s)', (label, clientOptions) => {
  it('fails with STORE_UNAVAILABLE within the bound, then works again without a new store', async () => {
    const client = new DynamoDBClient({ ...server.clientConfig, ...clientOptions })
    const store = storeOn(client, { operationTimeoutMs: BOUND_MS })
    const principal = `outage-${newId().slice(0, 8)}`
    const id = newId()
    expect(
      await store.save({ id, isNew: true, meta: meta(600_000, principal), set: { a: '1' }, removed: [] }),
    ).toBe('saved')

    await server.kill()
    const during = await Promise.all([
      timed(() => store.load(id)),
      timed(() => store.save({ id: newId(), isNew: true, meta: meta(), set: { a: '1' }, removed: [] })),
      timed(() => store.save({ id, isNew: false, meta: meta(), set: { a: '2' }, removed: [] })),
      timed(() =>
        store.save({ id: newId(), previousId: id, isNew: false, meta: meta(), set: {}, removed: [] }),
      ),
      timed(() => store.touch(id, meta())),
      timed(() => store.delete(newId())),
      timed(() => store.findByPrincipal(principal)),
    ])
    console.info(
      `[${label}] while down:`,
      during.map((r) => `${r.ok ? 'ok' : (r.error as Error).message.slice(0, 60)} ${r.ms.toFixed(0)}ms`),
    )
    for (const r of during) {
      expect(r.ok).toBe(false)
      expect(r.ok || r.unavailable, r.ok ? '' : String(r.error)).toBe(true)
      expect(r.ms).toBeLessThan(BOUND_MS + SLACK_MS)
    }

    await server.restart()
    const restarted = performance.now()
    // The same store object, the same client: the session saved before the outage is back.
    const back = await waitFor(
      'the store to work again',
      () => store.load(id).catch(() => undefined),
      15_000,
      50,
    )
    console.info(`[${label}] working again ${(performance.now() - restarted).toFixed(0)} ms after restart`)
    expect(back.attributes).toEqual({ a: '1' })
    expect(await store.save({ id, isNew: false, meta: meta(), set: { a: '3' }, removed: [] })).toBe('saved')
    expect((await store.findByPrincipal(principal)).map((r) => r.id)).toEqual([id])
    client.destroy()
  })
})

it('a hung server (SIGSTOP) also fails within the bound', async () => {
  const client = new DynamoDBClient(server.clientConfig)
  const store = storeOn(client, { operationTimeoutMs: BOUND_MS })
  await store.load(newId())
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
  client.destroy()
})
