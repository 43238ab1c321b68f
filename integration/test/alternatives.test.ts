import { startRedis } from '@sessionkit/test-servers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { availableFrameworks } from '../src/apps/index'
import { type Balancer, startBalancer } from '../src/balancer'
import { type Fleet, startProcessFleet } from '../src/fleet'
import { Client } from './support/client'

// The seeds' alternatives side by side, same apps, same balancer, different session storage:
// one memory store per instance behind round-robin, the same behind sticky sessions, and one
// shared store (Redis) behind round-robin.
const frameworks = await availableFrameworks()
const specs = frameworks.map((framework) => ({ name: framework, framework }))
let redis: Awaited<ReturnType<typeof startRedis>>
let memoryFleet: Fleet
let sharedFleet: Fleet
const balancers: Balancer[] = []

beforeAll(async () => {
  redis = await startRedis()
  ;[memoryFleet, sharedFleet] = await Promise.all([
    startProcessFleet(specs, { kind: 'memory' }),
    startProcessFleet(specs, { kind: 'redis', url: redis.url }),
  ])
}, 90_000)
afterAll(async () => {
  for (const lb of balancers) await lb.close()
  await memoryFleet?.stop()
  await sharedFleet?.stop()
  await redis?.stop()
})

async function balancer(fleet: Fleet, mode: 'round-robin' | 'sticky') {
  const lb = await startBalancer({ backends: fleet.backends(), mode })
  balancers.push(lb)
  return lb
}

/** Presses the counter `times` times; answers each reply's counter, user and instance. */
async function press(client: Client, times: number) {
  const out: { counter: number; user: string | null; instance: string | undefined }[] = []
  for (let i = 0; i < times; i++) {
    const r = await client.post('/api/count')
    expect(r.status).toBe(200)
    out.push({ counter: r.body.counter, user: r.body.user, instance: r.instance })
  }
  return out
}

describe('the alternatives to a shared store, side by side', () => {
  it('memory per instance behind round-robin: logged out on the next hop', async () => {
    const lb = await balancer(memoryFleet, 'round-robin')
    const client = new Client(lb.url)
    const login = await client.post('/api/login?user=ann')
    expect(login.body.user).toBe('ann')
    const next = await client.get('/api/me')
    expect(next.instance).not.toBe(login.instance)
    expect(next.body.user).toBeNull()
    const presses = await press(client, 6)
    console.info(
      `memory per instance, round-robin: login on ${login.instance}, next request on ${next.instance}: user ${next.body.user}; ` +
        `counter over 6 presses: ${presses.map((p) => p.counter).join(',')}`,
    )
    // Each instance counts its own copy (when it has one): never 1..6.
    expect(presses.map((p) => p.counter)).not.toEqual([1, 2, 3, 4, 5, 6])
  })

  it('sticky sessions: continuous while pinned, uneven load, and the session dies with its instance', async () => {
    const lb = await balancer(memoryFleet, 'sticky')
    const heavy = new Client(lb.url)
    const login = await heavy.post('/api/login?user=heavy')
    const pinned = login.instance!
    const light = [new Client(lb.url), new Client(lb.url)]
    for (const [i, client] of light.entries()) await client.post(`/api/login?user=light${i}`)
    lb.resetCounts()

    const presses = await press(heavy, 30)
    expect(presses.map((p) => p.counter)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    expect(new Set(presses.map((p) => p.instance))).toEqual(new Set([pinned]))
    for (const client of light) await press(client, 3)
    const load = lb.counts()
    const served = frameworks.map((f) => load[f] ?? 0)
    console.info(
      `sticky: requests per instance with one busy client and two light ones: ${JSON.stringify(load)}`,
    )
    expect(Math.max(...served)).toBeGreaterThanOrEqual(30)
    expect(Math.max(...served)).toBeGreaterThan(3 * Math.min(...served))

    await memoryFleet.instance(pinned).kill()
    const after = await heavy.post('/api/count')
    console.info(
      `sticky: ${pinned} killed after counter 30; next request on ${after.instance}: user ${after.body.user}, counter ${after.body.counter}`,
    )
    expect(after.status).toBe(200)
    expect(after.instance).not.toBe(pinned)
    expect(after.body.user).toBeNull()
    expect(after.body.counter).toBe(1)
    await memoryFleet.instance(pinned).revive()
  })

  it('shared store behind round-robin: continuous on every instance, even load, survives a killed instance', async () => {
    const lb = await balancer(sharedFleet, 'round-robin')
    const client = new Client(lb.url)
    const login = await client.post('/api/login?user=ann')
    lb.resetCounts()
    const before = await press(client, 6)
    const load = lb.counts()
    await sharedFleet.instance(login.instance!).kill()
    const after = await press(client, 6)
    console.info(
      `shared store: counter ${[...before, ...after].map((p) => `${p.counter}@${p.instance}`).join(' ')} ` +
        `(${login.instance} killed after 6); requests per instance before the kill: ${JSON.stringify(load)}`,
    )
    expect([...before, ...after].map((p) => p.counter)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
    expect([...before, ...after].every((p) => p.user === 'ann')).toBe(true)
    expect(after.every((p) => p.instance !== login.instance)).toBe(true)
    expect(Object.values(load)).toEqual(frameworks.map(() => 6 / frameworks.length))
    await sharedFleet.instance(login.instance!).revive()
  })
})
