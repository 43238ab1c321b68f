import { call, startSentinel, waitFor } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, expect, it } from 'vitest'
import { RedisStore } from '../src/index'
import { meta, newId, quiet, timed } from './support'

// Issue 26 item 3: with the replica gone (1 master + 1 replica, the replica killed), a write's
// replica wait must never hold up loads, and writes answer within `timeoutMs`: 'accept' saves
// without the replica, 'error' refuses at once and writes nothing.

const topo = await startSentinel()
afterAll(() => topo.stop())

const WAIT = { replicas: 1, timeoutMs: 500 }
const SESSIONS = 20
const ROUNDS = 5
/** What a load may take on a loaded 2-core machine; a load behind one WAIT takes 500 ms more. */
const LOAD_BOUND_MS = 250

it('with the replica killed, loads are not slowed, accept saves within timeoutMs, error refuses unwritten', async () => {
  const client = quiet(
    new Redis({
      sentinels: topo.sentinels,
      name: topo.masterName,
      maxRetriesPerRequest: 1,
      enableAutoPipelining: true,
    }),
  )
  const accept = new RedisStore({
    client,
    prefix: 'ro:',
    waitForReplicas: { ...WAIT, onShortfall: 'accept' },
  })
  const strict = new RedisStore({ client, prefix: 'ro:', waitForReplicas: WAIT })
  const ids = Array.from({ length: SESSIONS }, () => newId())
  for (const id of ids) {
    expect(await strict.save({ id, isNew: true, meta: meta(), set: { n: '0' }, removed: [] })).toBe('saved')
  }

  const master = await topo.master()
  const replica = await topo.replica()
  await replica.kill()
  await waitFor('the master to notice its replica is gone', async () =>
    /connected_slaves:0/.test(String(await call(master.port, ['INFO', 'replication']))),
  )

  const slowLoads: number[] = []
  const slowSaves: number[] = []
  for (let round = 1; round <= ROUNDS; round++) {
    const results = await Promise.all([
      ...ids.map((id) =>
        timed(() =>
          accept.save({ id, isNew: false, meta: meta(), set: { n: String(round) }, removed: [] }),
        ).then((r) => ({ r, kind: 'save' as const })),
      ),
      ...ids.map((id) => timed(() => accept.load(id)).then((r) => ({ r, kind: 'load' as const }))),
    ])
    for (const { r, kind } of results) {
      expect(r.ok, r.ok ? '' : String(r.error)).toBe(true)
      if (kind === 'load' && r.ms > LOAD_BOUND_MS) slowLoads.push(Math.round(r.ms))
      if (kind === 'save' && r.ms > WAIT.timeoutMs) slowSaves.push(Math.round(r.ms))
    }
  }
  expect(slowLoads, `loads slower than ${LOAD_BOUND_MS} ms`).toEqual([])
  expect(slowSaves, `'accept' saves slower than ${WAIT.timeoutMs} ms`).toEqual([])
  for (const id of ids) expect((await accept.load(id))?.attributes.n).toBe(String(ROUNDS))

  // 'error': refused within a round trip, and the 503 is true: nothing was written.
  const refused = await Promise.all([
    ...ids.map((id) =>
      timed(() => strict.save({ id, isNew: false, meta: meta(), set: { n: 'x' }, removed: [] })),
    ),
    ...ids.map((id) => timed(() => strict.delete(id))),
  ])
  for (const r of refused) {
    expect(!r.ok && r.unavailable, r.ok ? 'saved' : String(r.error)).toBe(true)
    expect(r.ms).toBeLessThan(WAIT.timeoutMs)
  }
  for (const id of ids) expect((await strict.load(id))?.attributes.n).toBe(String(ROUNDS))

  // The replica back: strict writes are waited for and acknowledged again.
  await replica.restart()
  await waitFor(
    'the replica online',
    async () => /state=online/.test(String(await call(master.port, ['INFO', 'replication']))),
    20_000,
  )
  expect(await strict.save({ id: ids[0]!, isNew: false, meta: meta(), set: { n: 'y' }, removed: [] })).toBe(
    'saved',
  )
  await accept.close()
  await strict.close()
  client.disconnect()
})
