import { startSentinel } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { RedisStore } from '../src/index'
import { describeConformanceOn, meta, newId, quiet, saveThroughFailover, timed } from './support'

const topo = await startSentinel()
const connect = () => quiet(new Redis({ sentinels: topo.sentinels, name: topo.masterName }))
const shared = connect()
afterAll(async () => {
  shared.disconnect()
  await topo.stop()
})

describeConformanceOn('Sentinel', connect, shared)

const BOUND_MS = 1500

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
    const wait = { replicas: 1, timeoutMs: 500 }
    const durable = new RedisStore({
      client,
      prefix: 'fo:',
      commandTimeoutMs: BOUND_MS,
      waitForReplicas: wait,
    })
    // With one replica, the promoted master has none left: strict WAIT cannot be met after failover.
    const lenient = new RedisStore({
      client,
      prefix: 'fo:',
      commandTimeoutMs: BOUND_MS,
      waitForReplicas: { ...wait, onShortfall: 'accept' },
    })
    const ids = Array.from({ length: 50 }, () => newId())
    const saved = await Promise.all(
      ids.map((id, n) => durable.save({ id, isNew: true, meta: meta(), set: { n: String(n) }, removed: [] })),
    )
    expect(saved.every((r) => r === 'saved')).toBe(true)

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
        `${failures} failed meanwhile, slowest call ${slowest.toFixed(0)} ms (bound ${BOUND_MS} ms + WAIT ${wait.timeoutMs} ms)`,
    )
    expect(firstSuccess).toBeDefined()
    expect(firstSuccess!).toBeLessThan(6_000)
    expect(slowest).toBeLessThan(BOUND_MS + wait.timeoutMs + 300)
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
