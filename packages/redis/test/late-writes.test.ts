import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { RedisStore } from '../src/index'
import { meta, newId, quiet, timed } from './support'

// Issue 26 item 5: a write answered STORE_UNAVAILABLE must not land later. A command that timed
// out in the store is still in ioredis' queue or in a paused server's socket, and runs when the
// server answers again; its deadline, in Redis' own clock, makes it write nothing then.

const BOUND_MS = 500
const SESSIONS = 10
const TRIALS = 5

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => server?.stop())

it('saves and touches that timed out while Redis was paused (SIGSTOP) write nothing when it resumes', async () => {
  const client = quiet(new Redis(server.url, { maxRetriesPerRequest: 1, enableAutoPipelining: true }))
  const store = new RedisStore({ client, commandTimeoutMs: BOUND_MS, prefix: `late-${newId().slice(0, 6)}:` })
  const ids = Array.from({ length: SESSIONS }, () => newId())
  const created = meta()
  for (const id of ids) {
    expect(await store.save({ id, isNew: true, meta: created, set: { counter: '0' }, removed: [] })).toBe(
      'saved',
    )
  }
  let late = 0
  for (let trial = 1; trial <= TRIALS; trial++) {
    await server.pause()
    const later = { ...meta(), lastAccessedAt: Date.now() + 60_000, expiresAt: Date.now() + 3_600_000 }
    const answers = await Promise.all([
      ...ids.map((id) =>
        timed(() =>
          store.save({ id, isNew: false, meta: later, set: { counter: String(trial) }, removed: [] }),
        ),
      ),
      ...ids.map((id) => timed(() => store.touch(id, later))),
    ])
    server.resume()
    for (const a of answers) expect(!a.ok && a.unavailable, String(!a.ok && a.error)).toBe(true)
    // Every command sent before this one has run once it answers.
    await client.ping()
    for (const id of ids) {
      const record = await store.load(id)
      if (record?.attributes.counter !== '0' || record.expiresAt !== created.expiresAt) late++
    }
  }
  expect(late, 'writes answered STORE_UNAVAILABLE that landed after the pause').toBe(0)
  client.disconnect()
})

it('a write that reaches a paused Redis in time still lands and is answered', async () => {
  const client = quiet(new Redis(server.url, { maxRetriesPerRequest: 1 }))
  const store = new RedisStore({ client, commandTimeoutMs: 2000, prefix: `intime-${newId().slice(0, 6)}:` })
  const id = newId()
  expect(await store.save({ id, isNew: true, meta: meta(), set: { counter: '0' }, removed: [] })).toBe(
    'saved',
  )
  await server.pause()
  const saving = store.save({ id, isNew: false, meta: meta(), set: { counter: '1' }, removed: [] })
  // Well within the deadline (2000 ms less the margin): held, not refused.
  await new Promise((resolve) => setTimeout(resolve, 300))
  server.resume()
  expect(await saving).toBe('saved')
  expect((await store.load(id))?.attributes.counter).toBe('1')
  client.disconnect()
})
