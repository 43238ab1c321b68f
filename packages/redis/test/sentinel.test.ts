import { startSentinel } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import {
  describeConformanceOn,
  FAILOVER_BOUND_MS,
  failoverStores,
  meta,
  newId,
  quiet,
  saveAcknowledged,
  saveThroughFailover,
  timed,
} from './support'

const topo = await startSentinel()
const connect = () => quiet(new Redis({ sentinels: topo.sentinels, name: topo.masterName }))
const shared = connect()
afterAll(async () => {
  shared.disconnect()
  await topo.stop()
})

describeConformanceOn('Sentinel', connect, shared)

describe('Sentinel failover (SIGKILL of the master)', () => {
  it('keeps every write acknowledged with waitForReplicas, and serves new saves soon after', async () => {
    const client = quiet(
      new Redis({
        sentinels: topo.sentinels,
        name: topo.masterName,
        maxRetriesPerRequest: 1,
        retryStrategy: (attempt) => Math.min(attempt * 50, 250),
      }),
    )
    // With one replica, a promoted master has none left: only the lenient store can write then.
    const { wait, durable, lenient } = failoverStores(client)
    const ids = await saveAcknowledged(durable, 50)

    const killed = await topo.killMaster()
    const killedAt = performance.now()
    // Keep traffic going through the failover: every call must settle within the bound.
    const { firstSuccess, failures, slowest } = await saveThroughFailover(
      () => lenient.save({ id: newId(), isNew: true, meta: meta(), set: { during: '1' }, removed: [] }),
      killedAt,
      20_000,
    )
    const promoted = await topo.waitForFailover(killed)
    console.info(
      `sentinel: first successful save ${firstSuccess?.toFixed(0)} ms after SIGKILL of the master; ` +
        `${failures} failed meanwhile, slowest call ${slowest.toFixed(0)} ms (bound ${FAILOVER_BOUND_MS} ms + WAIT ${wait.timeoutMs} ms)`,
    )
    expect(firstSuccess).toBeDefined()
    expect(firstSuccess!).toBeLessThan(6_000)
    expect(slowest).toBeLessThan(FAILOVER_BOUND_MS + wait.timeoutMs + 300)
    expect(promoted.port).not.toBe(killed.port)

    const loaded = await Promise.all(ids.map((id) => durable.load(id)))
    expect(loaded.map((r) => r?.attributes.n)).toEqual(ids.map((_, n) => String(n)))

    const strict = await timed(() =>
      durable.save({ id: newId(), isNew: true, meta: meta(), set: {}, removed: [] }),
    )
    console.info(
      `strict waitForReplicas with no replica left: ${strict.ok ? 'saved' : (strict.error as Error).message}`,
    )
    expect(strict.ok).toBe(false)
    client.disconnect()
  })
})
