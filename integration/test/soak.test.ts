import { setTimeout as hold } from 'node:timers/promises'
import {
  type ClusterTopology,
  call,
  type RedisServer,
  type SentinelTopology,
  startCluster,
  startRedis,
  startSentinel,
} from '@sessionkit/test-servers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { availableFrameworks } from '../src/apps/index'
import { startBalancer } from '../src/balancer'
import { type Fleet, startProcessFleet } from '../src/fleet'
import type { StoreSpec } from '../src/stores'
import { Client, startBarrier } from './support/client'
import { startGate } from './support/gate'
import { finalCheck, firstAckAfter, ms, reads, statuses, table, within } from './support/soak-figures'
import { type SoakLoad, sessionIdOf, startSoakLoad } from './support/soak-load'

// The fault soak: Express, Koa and Fastify as three processes behind a round-robin balancer
// (so each user's requests rotate over all three), configured as the Redis README recommends,
// while Redis is paused, killed, or fails over. 30 users increment a counter and read it in
// turn (and log in again now and then); six loops of fresh logins run alongside. Every
// zero below is asserted with expect.soft, so one run reports every figure that is off.
const USERS = 30
const PROBES = 6
// A request is a load and a save (and an index update), each within commandTimeoutMs (2000 ms
// by default) plus the replica wait: nothing may take longer than this to answer.
const REQUEST_BOUND_MS = 15_000
const WARM_UP_BOUND_MS = 30_000
const START_BOUND_MS = 120_000
const RECOVERY_BOUND_MS = 20_000
/** How long a paused or killed standalone stays down: past commandTimeoutMs, so requests time out. */
const DOWN_MS = 2500
/** How long a killed Sentinel or Cluster master stays dead after its failover: its replica is gone meanwhile. */
const DEAD_MS = 6000
/** Requests that started this soon after a failover completed may still have been routed to the old master. */
const SETTLE_MS = 1000
const REPLICA_WAIT = { replicas: 1, timeoutMs: 500 }

// The Redis README: `enableAutoPipelining`, `maxRetriesPerRequest: 1` and its `retryStrategy`
// (both in src/stores.ts for every Redis spec), default `commandTimeoutMs`; on Sentinel and
// Cluster `waitForReplicas`, so an acknowledged write survives a failover. Sentinel here is one
// master and one replica, the case the README names for `onShortfall: 'accept'`.
const CONFIG = {
  standalone: { enableAutoPipelining: true },
  sentinel: {
    enableAutoPipelining: true,
    waitForReplicas: { ...REPLICA_WAIT, onShortfall: 'accept' as const },
  },
  cluster: { enableAutoPipelining: true, waitForReplicas: REPLICA_WAIT },
}

const frameworks = await availableFrameworks()
const specs = frameworks.map((framework) => ({ name: framework, framework }))

/** scenario → figure → value, printed as one table at the end. */
const figures = new Map<string, Map<string, string>>()
const record = (scenario: string, rows: [string, string | number][]) => {
  const column = figures.get(scenario) ?? new Map<string, string>()
  for (const [k, v] of rows) column.set(k, String(v))
  figures.set(scenario, column)
}

afterAll(() => {
  const columns = [...figures.keys()]
  const rowNames = [...new Set([...figures.values()].flatMap((c) => [...c.keys()]))]
  console.info(
    `Fault soak (${frameworks.join(', ')} as processes, ${USERS} users):\n${table(
      columns,
      rowNames.map((r) => [r, ...columns.map((c) => figures.get(c)!.get(r) ?? '')]),
    )}`,
  )
})

interface Apps {
  fleet: Fleet
  lb: { url: string }
  stop(): Promise<void>
}

/** The three apps on `spec` behind the balancer; `stop` ends them and then the store's servers. */
async function startApps(spec: StoreSpec, stopServers: () => Promise<void>): Promise<Apps> {
  const fleet = await startProcessFleet(specs, spec)
  const lb = await startBalancer({ backends: fleet.backends(), timeoutMs: REQUEST_BOUND_MS })
  // The first requests of a fresh process compile its code: not part of any figure.
  await Promise.all(
    fleet.instances.map(async (instance) => {
      for (let i = 0; i < 20; i++) {
        const client = new Client(instance.url, REQUEST_BOUND_MS)
        await client.post(`/api/login?user=warmup${i}`, instance.url)
        await client.post('/api/count', instance.url)
        await client.get('/api/me', instance.url)
      }
    }),
  )
  return {
    fleet,
    lb,
    stop: async () => {
      await lb.close()
      await fleet.stop()
      await stopServers()
    },
  }
}

interface FaultTimes {
  /** When the fault began (ms on the load's clock). */
  faultAt: number
  /** When the repair began: SIGCONT, a restart, a completed failover. */
  repairAt: number
  repair: string
  /** A replica outage: [from, to) on the load's clock, for the reads' latency. */
  replicaOutage?: [number, number]
  /** What ended the fault when that is not the repair (a killed node back); the fault ends when `fault` resolves. */
  back?: string
}

/**
 * The load, warmed up; then `fault`; then until every logged-in user has had increments
 * acknowledged again. Records the figures and checks them; `extra` adds a scenario's own.
 */
async function soak(
  scenario: string,
  apps: Apps,
  fault: (load: SoakLoad) => Promise<FaultTimes>,
  extra?: (load: SoakLoad, times: FaultTimes) => Promise<[string, string | number][]>,
) {
  const load = await startSoakLoad(apps.lb.url, { users: USERS, probes: PROBES, boundMs: REQUEST_BOUND_MS })
  const warm = await load.until(() => load.users.every((u) => u.acked >= 3), WARM_UP_BOUND_MS)
  if (!warm) {
    await load.stop()
    throw new Error(`${scenario}: the load did not warm up within ${WARM_UP_BOUND_MS} ms`)
  }
  let times: FaultTimes
  try {
    times = await fault(load)
  } catch (err) {
    await load.stop()
    throw err
  }
  load.mark()
  const markAt = load.now()
  const recovered = await load.until(
    () => load.active().every((u) => u.ackedSinceMark >= 3),
    RECOVERY_BOUND_MS,
  )
  const recoveredAt = load.now()
  await load.stop()
  const final = await finalCheck(load, apps.fleet.instances)
  const unsavedProbes = (await Promise.all(load.probes.map((p) => p.verify()))).flat()
  const unsaved = [...load.counts.confirmedUnsaved, ...unsavedProbes]
  const lasting = [...load.counts.loggedOut, ...final.gone]
  const samples = load.samples
  const errors = samples.filter((s) => s.status !== 200)
  const caughtAtFault = errors.filter(
    (s) => s.kind === 'count' && s.start <= times.faultAt && s.end >= times.faultAt,
  ).length
  // Reads answered before the fault: one in flight at the fault belongs to the fault.
  const before = reads(
    samples.filter((s) => s.end < times.faultAt),
    0,
    times.faultAt,
  )
  const errorStarts = errors.map((s) => s.start)
  const outage = times.replicaOutage && {
    ...reads(samples, ...times.replicaOutage),
    increments: within(samples, ...times.replicaOutage).filter((s) => s.kind === 'count'),
  }
  const withoutWrites =
    outage &&
    load
      .active()
      .filter((u) => !outage.increments.some((s) => s.user === u.user && s.status === 200))
      .map((u) => u.user)
  const firstAck = firstAckAfter(samples, times.faultAt)
  const firstAckAfterRepair = firstAckAfter(samples, times.repairAt)
  const rows: [string, string | number][] = [
    [
      'requests',
      `${samples.length} in ${(recoveredAt / 1000).toFixed(1)} s, the fault at +${(times.faultAt / 1000).toFixed(1)} s`,
    ],
    ['answers', JSON.stringify(statuses(samples)).replace(/"/g, '')],
    [
      'errors, from the fault',
      errors.length
        ? `${ms(Math.min(...errorStarts) - times.faultAt)} to ${ms(Math.max(...errorStarts) - times.faultAt)} (requests' starts)`
        : 'none',
    ],
    [
      'reads p50 / p99 before the fault',
      `${ms(before.p50)} / ${ms(before.p99)} (${before.failed} of ${before.n} failed)`,
    ],
    ...(outage
      ? ([
          ['reads p50 / p99 during the replica outage', `${ms(outage.p50)} / ${ms(outage.p99)}`],
          ['reads failed during the replica outage', `${outage.failed} of ${outage.n}`],
          [
            'increments during the replica outage (acknowledged / failed)',
            `${outage.increments.filter((s) => s.status === 200).length} / ${outage.increments.filter((s) => s.status !== 200).length}`,
          ],
          ['users with no increment acknowledged during the replica outage', withoutWrites!.length],
        ] as [string, string][])
      : []),
    ['fault → first acknowledged increment', ms(firstAck)],
    [`${times.repair} → first acknowledged increment`, ms(firstAckAfterRepair)],
    [
      `${times.back ?? times.repair} → every user incrementing again`,
      recovered ? ms(recoveredAt - markAt) : `not within ${RECOVERY_BOUND_MS} ms`,
    ],
    ['acknowledged increments lost', load.counts.lostAcked + final.lost],
    ['increments answered 5xx, applied anyway ("applied after 503")', final.appliedAfterError],
    ['  of which could be in flight at the fault instant (5xx increments spanning it)', caughtAtFault],
    ['lasting logouts', lasting.length],
    [
      'confirmed-but-unsaved logins',
      `${unsaved.length} (of ${load.probes.reduce((n, p) => n + p.confirmed.length, 0)} fresh logins confirmed, ${load.probes.reduce((n, p) => n + p.attempts, 0)} tried)`,
    ],
    ['cross-user leaks', load.counts.leaks],
    [`requests unanswered within ${REQUEST_BOUND_MS} ms`, load.counts.noAnswer],
    ...((await extra?.(load, times)) ?? []),
  ]
  record(scenario, rows)
  console.info(`${scenario}:\n${rows.map(([k, v]) => `  ${k}: ${v}`).join('\n')}`)
  for (const line of [...load.counts.lostDetails, ...final.details]) console.info(`  counter: ${line}`)
  for (const line of lasting) console.info(`  logged out: ${line}`)
  for (const line of unsaved) console.info(`  unsaved login: ${line}`)
  for (const [status, messages] of Object.entries(load.counts.errorMessages))
    console.info(`  ${status}: ${[...messages].slice(0, 6).join(' | ')}`)

  expect.soft(load.counts.lostAcked + final.lost, 'acknowledged increments lost').toBe(0)
  // A 503 means nothing changed, except for a write caught at the instant of the fault: sent,
  // run, and then the server was killed or stopped before its answer left. No store answering
  // within a bound can know that outcome (packages/redis/README.md, "A 503 means nothing
  // changed", cases 1 and 2). Every increment started later, or answered before it, must not land.
  expect
    .soft(
      final.appliedAfterError,
      'increments answered with an error that were applied, beyond those in flight at the fault',
    )
    .toBeLessThanOrEqual(caughtAtFault)
  expect.soft(lasting, 'lasting logouts').toEqual([])
  expect.soft(unsaved, 'confirmed-but-unsaved logins').toEqual([])
  expect.soft(load.counts.leaks, 'cross-user leaks').toBe(0)
  expect.soft(load.counts.noAnswer, 'requests without an answer').toBe(0)
  expect
    .soft(recovered, `every user incrementing again within ${RECOVERY_BOUND_MS} ms of the repair`)
    .toBe(true)
  // Errors are the store's "unavailable" and nothing else.
  expect
    .soft(
      [...new Set(errors.map((s) => s.status))].filter((s) => s !== 503),
      'error statuses other than 503',
    )
    .toEqual([])
  return { load, times, firstAck, firstAckAfterRepair, outage, withoutWrites }
}

/** 20 writers per session, all with the session loaded before any saves, each its own attribute. */
async function parallelWriters(scenario: string, apps: Apps) {
  const SESSIONS = 10
  const ROUNDS = 3
  const WRITERS = 20
  let acked = 0
  let failed = 0
  let lost = 0
  const details: string[] = []
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(
      Array.from({ length: SESSIONS }, async (_, s) => {
        const client = new Client(apps.lb.url, REQUEST_BOUND_MS)
        const user = `par${round}_${s}_${Date.now().toString(36)}`
        expect((await client.post(`/api/login?user=${user}`)).status).toBe(200)
        // Every writer has loaded the session before any of them saves.
        const barrier = await startBarrier(WRITERS)
        const answers = await Promise.all(
          Array.from({ length: WRITERS }, (_, w) =>
            client.post(`/api/set?name=w${w}&value=v${w}&barrier=${encodeURIComponent(barrier.url)}`),
          ),
        )
        await barrier.close()
        const ok = answers.flatMap((a, w) => (a.status === 200 ? [w] : []))
        acked += ok.length
        failed += WRITERS - ok.length
        for (const instance of apps.fleet.instances) {
          const r = await client.get('/api/me', instance.url)
          const missing = ok.filter((w) => r.body.attrs?.[`w${w}`] !== `v${w}`)
          lost += missing.length
          if (missing.length)
            details.push(`${user} on ${instance.name}: missing ${missing.map((w) => `w${w}`)}`)
        }
      }),
    )
  }
  const rows: [string, string | number][] = [
    ['writers (acknowledged / failed)', `${acked} / ${failed}`],
    ['acknowledged attributes lost (per instance read)', lost],
  ]
  record(scenario, rows)
  console.info(`${scenario}: ${rows.map(([k, v]) => `${k}: ${v}`).join('; ')}`)
  for (const line of details.slice(0, 10)) console.info(`  ${line}`)
  expect.soft(lost, 'acknowledged attributes lost').toBe(0)
  expect.soft(failed, 'writers answered with an error on a healthy store').toBe(0)
}

/**
 * Slow writers (session loaded, then held at a gate) in flight while their session logs out;
 * afterwards the old cookie must load nothing on any instance, and the key must not exist.
 */
async function logoutsRacingWriters(
  scenario: string,
  apps: Apps,
  keyExists: (key: string) => Promise<boolean>,
) {
  const SESSIONS = 30
  const WRITERS = 10
  const gate = await startGate()
  const tag = Date.now().toString(36)
  const clients = await Promise.all(
    Array.from({ length: SESSIONS }, async (_, s) => {
      const client = new Client(apps.lb.url, REQUEST_BOUND_MS)
      expect((await client.post(`/api/login?user=race${s}_${tag}`)).status).toBe(200)
      return client
    }),
  )
  // Each writer loads the session, then waits at the gate; the gate opens once every
  // session's logout was answered, so every write saves after its session was destroyed.
  const writers = clients.flatMap((client) =>
    Array.from({ length: WRITERS }, (_, w) =>
      client.clone().post(`/api/set?name=late${w}&value=v&barrier=${encodeURIComponent(gate.url)}`),
    ),
  )
  await gate.arrived(SESSIONS * WRITERS)
  const ids = clients.map((c) => sessionIdOf(c)!)
  const olds = clients.map((c) => c.clone())
  const logouts = await Promise.all(clients.map((c) => c.post('/api/logout')))
  gate.open()
  const written = await Promise.all(writers)
  await gate.close()
  let resurrected = 0
  const details: string[] = []
  for (const [i, old] of olds.entries()) {
    for (const instance of apps.fleet.instances) {
      const r = await old.get('/api/me', instance.url)
      if (r.body.user !== null || Object.keys(r.body.attrs ?? {}).length) {
        resurrected++
        details.push(`${ids[i]!.slice(0, 8)} loads on ${instance.name}: ${JSON.stringify(r.body)}`)
      }
    }
    if (await keyExists(`sess:{${ids[i]}}`)) {
      resurrected++
      details.push(`${ids[i]!.slice(0, 8)}: the key exists again`)
    }
  }
  const rows: [string, string | number][] = [
    ['logouts answered 200', `${logouts.filter((r) => r.status === 200).length} of ${SESSIONS}`],
    [
      'slow writers in flight across the logouts',
      `${writers.length} (answers ${JSON.stringify(statuses(written.map((w) => ({ status: w.status }) as never))).replace(/"/g, '')})`,
    ],
    ['resurrections', resurrected],
  ]
  record(scenario, rows)
  console.info(`${scenario}: ${rows.map(([k, v]) => `${k}: ${v}`).join('; ')}`)
  for (const line of details.slice(0, 10)) console.info(`  ${line}`)
  expect.soft(logouts.map((r) => r.status)).toEqual(logouts.map(() => 200))
  expect.soft(resurrected, 'resurrections').toBe(0)
}

describe('fault soak: Redis standalone', () => {
  let redis: RedisServer
  let apps: Apps
  beforeAll(async () => {
    // An append-only file, so a killed Redis comes back with every acknowledged write.
    redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
    apps = await startApps({ kind: 'redis', url: redis.url, ...CONFIG.standalone }, () => redis.stop())
  }, START_BOUND_MS)
  afterAll(() => apps?.stop())

  it('paused (SIGSTOP) past commandTimeoutMs, then SIGCONT', async () => {
    const r = await soak('standalone paused', apps, async (load) => {
      const faultAt = load.now()
      await redis.pause()
      await hold(DOWN_MS) // the fault's duration
      redis.resume()
      return { faultAt, repairAt: load.now(), repair: 'SIGCONT' }
    })
    expect.soft(r.firstAckAfterRepair, 'first acknowledged increment after SIGCONT').toBeLessThan(2000)
  }, 120_000)

  it('killed (SIGKILL), restarted on the same port', async () => {
    const r = await soak('standalone killed', apps, async (load) => {
      const faultAt = load.now()
      await redis.kill()
      await hold(DOWN_MS) // the fault's duration
      await redis.restart()
      return { faultAt, repairAt: load.now(), repair: 'restart' }
    })
    expect.soft(r.firstAckAfterRepair, 'first acknowledged increment after the restart').toBeLessThan(5000)
  }, 120_000)

  it(
    '20 parallel writers per session, each setting its own attribute: none lost',
    () => parallelWriters('20 parallel writers, standalone', apps),
    120_000,
  )

  it(
    'logouts racing slow writers: no logged-out session ever loads again',
    () =>
      logoutsRacingWriters(
        'logouts racing writers, standalone',
        apps,
        async (key) => (await call(redis.port, ['EXISTS', key])) !== 0,
      ),
    120_000,
  )
})

describe('fault soak: Redis Sentinel (1 master, 1 replica, 3 sentinels)', () => {
  let topo: SentinelTopology
  let apps: Apps
  beforeAll(async () => {
    topo = await startSentinel()
    apps = await startApps(
      { kind: 'sentinel', sentinels: topo.sentinels, name: topo.masterName, ...CONFIG.sentinel },
      () => topo.stop(),
    )
  }, START_BOUND_MS)
  afterAll(() => apps?.stop())

  it('failover; the killed master stays dead, then comes back as a replica', async () => {
    const r = await soak('Sentinel failover', apps, async (load) => {
      const faultAt = load.now()
      const killed = await topo.killMaster()
      const promoted = await topo.waitForFailover(killed)
      const failoverAt = load.now()
      await hold(DEAD_MS) // the new master runs without a replica
      await killed.restart()
      // Back as a replica at once: Sentinel would send the same REPLICAOF up to 10 s later.
      await call(killed.port, ['REPLICAOF', promoted.host, promoted.port])
      return {
        faultAt,
        repairAt: failoverAt,
        repair: 'failover done',
        replicaOutage: [failoverAt + SETTLE_MS, load.now()],
        back: 'killed node back',
      }
    })
    // With the replica gone, reads must not wait behind writes' replica waits.
    expect.soft(r.outage!.p99, 'reads p99 during the replica outage').toBeLessThan(3 * REPLICA_WAIT.timeoutMs)
    expect.soft(r.outage!.failed, 'reads failed during the replica outage').toBe(0)
    // `onShortfall: 'accept'`: writes go on without the replica once the failover is done.
    expect.soft(r.withoutWrites, 'users with no increment acknowledged during the replica outage').toEqual([])
  }, 150_000)
})

describe('fault soak: Redis Cluster (3 masters, 1 replica each)', () => {
  let cluster: ClusterTopology
  let apps: Apps
  beforeAll(async () => {
    cluster = await startCluster()
    apps = await startApps({ kind: 'cluster', nodes: cluster.nodes, ...CONFIG.cluster }, () => cluster.stop())
  }, START_BOUND_MS)
  afterAll(() => apps?.stop())

  it("one shard's master killed; it stays dead, then comes back: only that shard's users affected", async () => {
    let victim: RedisServer
    let healthyShardFailures = 0
    let victimSlots: [number, number][] = []
    const r = await soak(
      'Cluster failover of one shard',
      apps,
      async (load) => {
        victim = (await cluster.masters())[0]!
        victimSlots = slotsOf(await call(victim.port, ['CLUSTER', 'SLOTS']), victim.port)
        const faultAt = load.now()
        await cluster.kill(victim)
        await cluster.waitForFailover(victim)
        const failoverAt = load.now()
        await hold(DEAD_MS) // the promoted replica runs without a replica of its own
        await victim.restart()
        return {
          faultAt,
          repairAt: failoverAt,
          repair: 'failover done',
          replicaOutage: [failoverAt + SETTLE_MS, load.now()],
          back: 'killed node back',
        }
      },
      async (load, times) => {
        const onVictim = async (key: string) => {
          const slot = Number(
            await call(cluster.servers.find((s) => s.running)!.port, ['CLUSTER', 'KEYSLOT', key]),
          )
          return victimSlots.some(([from, to]) => slot >= from && slot <= to)
        }
        // Writes by users whose session lives on a healthy shard, failing while the killed
        // shard has no replica: the shard's loss reaching beyond its own sessions.
        // Increments during the outage by the shard of the session they wrote. A login's
        // failure may concern its new id, which the client never learns: increments only.
        const increments = within(load.samples, ...times.replicaOutage!).filter(
          (s) => s.kind === 'count' && s.sessionId,
        )
        const tally = { victim: [0, 0], healthy: [0, 0] }
        const outside = new Set<string>()
        const outsideErrors = new Set<string>()
        let viaIndex = 0
        const victimUsers = new Set<string>()
        for (const s of increments) {
          const victimSession = await onVictim(`sess:{${s.sessionId}}`)
          tally[victimSession ? 'victim' : 'healthy'][s.status === 200 ? 0 : 1]!++
          if (s.status === 200) continue
          if (victimSession) victimUsers.add(s.user)
          else if (!outside.has(s.user)) {
            outside.add(s.user)
            outsideErrors.add(String(s.error).replace(/\d+/g, 'N'))
            if (await onVictim(`sess:principal:{${s.user}}`)) viaIndex++
          }
        }
        healthyShardFailures = outside.size
        for (const e of outsideErrors) console.info(`  healthy shard, failing write: ${e}`)
        return [
          [
            'increments during the replica outage, session on the killed shard (acknowledged / failed)',
            tally.victim.join(' / '),
          ],
          [
            'increments during the replica outage, session on a healthy shard (acknowledged / failed)',
            tally.healthy.join(' / '),
          ],
          ['users failing increments, session on the killed shard', victimUsers.size],
          [
            'users failing increments, session on a healthy shard',
            `${outside.size} (${viaIndex} with their principal index on the killed shard)`,
          ],
        ]
      },
    )
    expect
      .soft(healthyShardFailures, 'users on healthy shards failing writes during the shard outage')
      .toBe(0)
    expect.soft(r.firstAck, 'first acknowledged increment after the kill').toBeLessThan(10_000)
  }, 150_000)

  it(
    '20 parallel writers per session, each setting its own attribute: none lost',
    () => parallelWriters('20 parallel writers, Cluster', apps),
    120_000,
  )

  it(
    'logouts racing slow writers: no logged-out session ever loads again',
    () =>
      logoutsRacingWriters('logouts racing writers, Cluster', apps, async (key) => {
        // Only the master owning the key's slot answers a number; the others answer MOVED.
        const masters = await cluster.masters()
        const replies = await Promise.all(masters.map((m) => call(m.port, ['EXISTS', key]).catch(() => 0)))
        return replies.some((r) => r === 1)
      }),
    120_000,
  )
})

/** The slot ranges `CLUSTER SLOTS` gives to the master on `port`. */
function slotsOf(reply: unknown, port: number): [number, number][] {
  if (!Array.isArray(reply)) return []
  return reply
    .filter((r) => Array.isArray(r) && Array.isArray(r[2]) && Number(r[2][1]) === port)
    .map((r) => [Number(r[0]), Number(r[1])])
}
