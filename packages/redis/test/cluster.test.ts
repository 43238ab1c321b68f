import { startCluster } from '@sessionkit/test-servers'
import { Cluster } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import {
  describeConformanceOn,
  FAILOVER_BOUND_MS,
  failoverStores,
  meta,
  quiet,
  saveAcknowledged,
  saveThroughFailover,
} from './support'

const cluster = await startCluster()
const connect = () => quiet(new Cluster(cluster.nodes))
const shared = connect()
afterAll(async () => {
  shared.disconnect()
  await cluster.stop()
})

describeConformanceOn('Cluster', connect, shared)

describe('Cluster failover (SIGKILL of one master)', () => {
  it('keeps every write acknowledged with waitForReplicas, and serves new saves soon after', async () => {
    const client = quiet(new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: 1 } }))
    // With one replica, a promoted master has none left: only the lenient store can write then.
    const { wait, durable, lenient } = failoverStores(client)
    const ids = await saveAcknowledged(durable, 60)

    const victim = (await cluster.masters())[0]!
    // Sessions whose slot the victim serves: the ones the failover puts at risk.
    const victimAddr = `${victim.host}:${victim.port}`
    const onVictim: string[] = []
    for (const id of ids) {
      const slot = Number(await shared.cluster('KEYSLOT', durable.key(id)))
      if (shared.slots[slot]?.[0] === victimAddr) onVictim.push(id)
    }
    expect(onVictim.length).toBeGreaterThan(0)

    await cluster.kill(victim)
    const killedAt = performance.now()
    const probe = onVictim[0]!
    const { firstSuccess, failures, slowest } = await saveThroughFailover(
      () => lenient.save({ id: probe, isNew: false, meta: meta(), set: { after: '1' }, removed: [] }),
      killedAt,
      12_000,
    )
    await cluster.waitForFailover(victim)
    console.info(
      `cluster: first successful save on the killed master's slots ${firstSuccess?.toFixed(0)} ms after SIGKILL; ` +
        `${failures} failed meanwhile, slowest call ${slowest.toFixed(0)} ms (bound ${FAILOVER_BOUND_MS} ms + WAIT ${wait.timeoutMs} ms); ` +
        `${onVictim.length} of ${ids.length} sessions were on it`,
    )
    expect(firstSuccess).toBeDefined()
    expect(firstSuccess!).toBeLessThan(10_000)
    expect(slowest).toBeLessThan(FAILOVER_BOUND_MS + wait.timeoutMs + 300)

    const loaded = await Promise.all(ids.map((id) => durable.load(id)))
    expect(loaded.map((r) => r?.attributes.n)).toEqual(ids.map((_, n) => String(n)))
    client.disconnect()
  })
})
