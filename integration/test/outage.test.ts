import { startRedis, waitFor } from '@sessionkit/test-servers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { availableFrameworks } from '../src/apps/index'
import { type Balancer, startBalancer } from '../src/balancer'
import { type Fleet, startProcessFleet } from '../src/fleet'
import { Client, type Reply } from './support/client'

// Redis goes away under running apps: every instance answers 503 with the store's clear
// error (never a silent new session), and serves the same sessions again once Redis is back,
// without an app restart. Redis keeps an append-only file here, so a restart loses nothing.
const COMMAND_BOUND_MS = 1000
const frameworks = await availableFrameworks()
const specs = frameworks.map((framework) => ({ name: framework, framework }))
let redis: Awaited<ReturnType<typeof startRedis>>
let fleet: Fleet
let lb: Balancer

beforeAll(async () => {
  redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
  fleet = await startProcessFleet(specs, {
    kind: 'redis',
    url: redis.url,
    commandTimeoutMs: COMMAND_BOUND_MS,
  })
  lb = await startBalancer({ backends: fleet.backends() })
}, 90_000)
afterAll(async () => {
  await lb?.close()
  await fleet?.stop()
  await redis?.stop()
})

/** Every instance, straight: a read and a write with the client's cookie, timed. */
async function everyInstance(client: Client) {
  const out: { instance: string; reply: Reply; ms: number }[] = []
  for (const instance of fleet.instances) {
    for (const [method, path] of [
      ['GET', '/api/me'],
      ['POST', '/api/count'],
    ] as const) {
      const started = performance.now()
      const reply = await client.send(method, path, instance.url)
      out.push({ instance: instance.name, reply, ms: performance.now() - started })
    }
  }
  return out
}

function expectClearOutage(results: Awaited<ReturnType<typeof everyInstance>>) {
  for (const { instance, reply, ms } of results) {
    expect({ instance, status: reply.status, error: reply.body.error }).toEqual({
      instance,
      status: 503,
      error: 'STORE_UNAVAILABLE',
    })
    // No new session handed out in place of the one the store could not read.
    expect(reply.setCookies.filter((c) => c.startsWith('connect.sid='))).toEqual([])
    expect(ms).toBeLessThan(2 * COMMAND_BOUND_MS + 1000)
  }
}

async function recovered(client: Client, user: string) {
  const started = performance.now()
  await waitFor(
    'the apps to serve sessions again',
    async () => (await client.get('/api/me')).body.user === user,
  )
  return performance.now() - started
}

describe('Redis unavailable under running apps', () => {
  it('stopped outright: 503 with a clear error on every instance; restarted: the same sessions, no app restart', async () => {
    const client = new Client(lb.url)
    await client.post('/api/login?user=ann')
    await client.post('/api/count')
    const cookie = client.cookieHeader

    await redis.kill()
    const during = await everyInstance(client)
    const login = await new Client(lb.url).post('/api/login?user=bob')
    console.info(
      `Redis stopped: ${during.map((r) => `${r.instance} ${r.reply.status} ${r.reply.body.error} in ${r.ms.toFixed(0)} ms`).join('; ')}; ` +
        `a new login: ${login.status} ${login.body.error}; message: "${during[0]!.reply.body.message}"`,
    )
    expectClearOutage(during)
    expect(login.status).toBe(503)
    expect(client.cookieHeader).toBe(cookie)

    await redis.restart()
    const ms = await recovered(client, 'ann')
    console.info(`Redis restarted: the same session served again after ${ms.toFixed(0)} ms`)
    for (const instance of fleet.instances) {
      expect((await client.get('/api/me', instance.url)).body).toMatchObject({ user: 'ann', counter: 1 })
    }
  })

  it('hung (SIGSTOP): 503 within the bound instead of a hanging request; resumed: served again', async () => {
    const client = new Client(lb.url)
    await client.post('/api/login?user=cy')
    await redis.pause()
    try {
      const during = await everyInstance(client)
      console.info(
        `Redis hung: ${during.map((r) => `${r.instance} ${r.reply.status} in ${r.ms.toFixed(0)} ms`).join('; ')} (bound ${COMMAND_BOUND_MS} ms per command)`,
      )
      expectClearOutage(during)
    } finally {
      redis.resume()
    }
    const ms = await recovered(client, 'cy')
    console.info(`Redis resumed: served again after ${ms.toFixed(0)} ms`)
  })
})
