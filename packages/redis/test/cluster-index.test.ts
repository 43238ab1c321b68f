import { isSessionError } from '@sessionkit/core'
import { call, type RedisServer, startCluster, waitFor } from '@sessionkit/test-servers'
import { Cluster } from 'ioredis'
import { afterAll, expect, it } from 'vitest'
import { RedisStore } from '../src/index'
import { slotOf } from '../src/slot'
import { meta, newId, quiet, timed } from './support'

// Issue 26 item 4: a shard's loss costs only its own sessions. A user's principal index key can
// live on another shard than their session; while that shard has no replica (strict
// `waitForReplicas`), the user's saves must still succeed, and the index entry is repaired.

const cluster = await startCluster()
afterAll(() => cluster.stop())

const WAIT = { replicas: 1, timeoutMs: 500 }

it("a shard without its replica fails only its own sessions' writes; the principal index entry is repaired", async () => {
  const client = quiet(new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: 1 } }))
  const store = new RedisStore({ client, prefix: 'ix:', waitForReplicas: WAIT })
  await client.ping()
  const victim = (await cluster.masters())[0]!
  const victimAddr = `${victim.host}:${victim.port}`
  const onVictim = (key: string) => client.slots[slotOf(key)]?.[0] === victimAddr
  const replica = await replicaOf(victim)
  let principal = ''
  do principal = `user-${newId().slice(0, 8)}`
  while (!onVictim(store.principalKey(principal)))
  const healthyId = () => {
    let id: string
    do id = newId()
    while (onVictim(store.key(id)))
    return id
  }
  let victimId: string
  do victimId = newId()
  while (!onVictim(store.key(victimId)))

  const existing = healthyId()
  const whole = { ...meta(600_000), principal }
  expect(await store.save({ id: existing, isNew: true, meta: whole, set: { n: '0' }, removed: [] })).toBe(
    'saved',
  )
  expect(await store.save({ id: victimId, isNew: true, meta: meta(), set: { n: '0' }, removed: [] })).toBe(
    'saved',
  )

  await replica.kill()
  await waitFor('the shard to notice its replica is gone', async () =>
    /connected_slaves:0/.test(String(await call(victim.port, ['INFO', 'replication']))),
  )

  // The user's session is on a healthy shard: its writes succeed, index or not.
  const fresh = healthyId()
  const during = [
    await timed(() => store.save({ id: fresh, isNew: true, meta: whole, set: { n: '1' }, removed: [] })),
    await timed(() => store.save({ id: existing, isNew: false, meta: meta(), set: { n: '1' }, removed: [] })),
    await timed(() => store.touch(existing, meta())),
  ]
  for (const r of during) expect(r.ok, r.ok ? '' : String(r.error)).toBe(true)
  for (const r of during) expect(r.ms).toBeLessThan(WAIT.timeoutMs)
  // "Log out everywhere" from this process finds the session whose index entry is pending.
  expect((await store.findByPrincipal(principal)).map((r) => r.id).sort()).toEqual([existing, fresh].sort())

  // The shard's own sessions: refused at once, nothing written.
  const own = await timed(() =>
    store.save({ id: victimId, isNew: false, meta: meta(), set: { n: '1' }, removed: [] }),
  )
  expect(!own.ok && own.unavailable).toBe(true)
  expect(own.ms).toBeLessThan(WAIT.timeoutMs)
  expect((await store.load(victimId))?.attributes.n).toBe('0')

  // A rotation needs its index entry before its commit point: it fails and the old id still loads.
  const rotated = healthyId()
  const rotation = await timed(() =>
    store.save({ id: rotated, previousId: fresh, isNew: false, meta: whole, set: { n: '1' }, removed: [] }),
  )
  expect(!rotation.ok && isSessionError(rotation.error, 'STORE_UNAVAILABLE')).toBe(true)
  expect(await store.load(fresh)).toBeDefined()
  expect(await store.load(rotated)).toBeUndefined()

  // A rotation of a session on the shard without its replica: its take is refused unwritten,
  // so the rotation fails at once and the old id keeps working, also once the shard is back.
  const movedTo = healthyId()
  const away = await timed(() =>
    store.save({
      id: movedTo,
      previousId: victimId,
      isNew: false,
      meta: meta(),
      set: { n: '2' },
      removed: [],
    }),
  )
  expect(!away.ok && isSessionError(away.error, 'STORE_UNAVAILABLE')).toBe(true)
  expect(away.ms).toBeLessThan(WAIT.timeoutMs)

  // The replica back: the pending entry lands in Redis, where every process sees it.
  await replica.restart()
  await waitFor(
    'the repaired index entry',
    async () => (await client.zrange(store.principalKey(principal), '0', '-1')).includes(fresh),
    20_000,
    100,
  )
  await store.settled()
  expect((await store.load(victimId))?.attributes.n).toBe('0')
  expect(await store.load(movedTo)).toBeUndefined()
  const other = new RedisStore({ client, prefix: 'ix:' })
  expect((await other.findByPrincipal(principal)).map((r) => r.id).sort()).toEqual([existing, fresh].sort())
  await store.close()
  client.disconnect()
})

/** The replica of `master`, as its ROLE says. */
async function replicaOf(master: RedisServer): Promise<RedisServer> {
  for (const r of await cluster.replicas()) {
    const role = (await call(r.port, ['ROLE'])) as unknown[]
    if (Number(role[2]) === master.port) return r
  }
  throw new Error(`no replica of ${master.port}`)
}
