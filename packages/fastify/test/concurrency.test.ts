import { createRequire } from 'node:module'
import type { SessionStore } from '@sessionkit/core'
import { MemoryStore } from '@sessionkit/memory'
import { RedisStore } from '@sessionkit/redis'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import Redis from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Client, deferred, type Running, start } from './helpers'

// Loaded untyped: the peer's own module augmentation would clash with ours.
const peer = createRequire(import.meta.url)('@fastify/session') as unknown

let running: Running | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

/**
 * Two routes that each set one attribute, the first one only after `gate` resolves, so the
 * two requests overlap: both load the session before either saves.
 */
function overlapping(gate: { promise: Promise<void> }, loaded: () => void) {
  return (app: Running['app']) => {
    app.get('/init', async (request) => {
      request.session.views = 1
      return { id: request.session.sessionId }
    })
    app.get('/a', async (request) => {
      loaded()
      await gate.promise
      request.session.a = 'from-a'
      return 'a'
    })
    app.get('/b', async (request) => {
      request.session.b = 'from-b'
      return 'b'
    })
    app.get('/read', async (request) => ({
      a: request.session.a ?? null,
      b: request.session.b ?? null,
      views: request.session.views ?? null,
    }))
    app.get('/logout', async (request) => {
      await request.session.destroy()
      return 'bye'
    })
  }
}

/** A server whose `/a` loads the session, signals `entered`, then waits for `gate`. */
async function startOverlapping(options: object, plugin?: unknown) {
  const gate = deferred()
  const entered = deferred()
  running = await start(
    { ...options },
    overlapping(gate, () => entered.resolve()),
    {},
    plugin,
  )
  return { gate, entered, url: running.url, client: new Client(running.url) }
}

async function differentAttributesBothPersist(options: object, plugin?: unknown) {
  const { gate, entered, client } = await startOverlapping(options, plugin)
  await client.get('/init')
  const slow = client.get('/a')
  await entered.promise // /a has loaded the session and waits
  await client.get('/b') // loads, sets b, saves
  gate.resolve()
  await slow
  return (await client.get('/read')).body
}

async function logoutRacingSlowRequest(options: object, store?: SessionStore, plugin?: unknown) {
  const { gate, entered, url, client } = await startOverlapping(options, plugin)
  const { id } = (await client.get('/init')).body
  const cookie = client.jar.get('sessionId')!
  const slow = client.get('/a')
  await entered.promise
  await client.get('/logout')
  gate.resolve() // the slow request saves only after the logout response arrived
  await slow
  const again = new Client(url)
  again.jar.set('sessionId', cookie)
  return { id, read: (await again.get('/read')).body, record: await store?.load(id) }
}

describe.each([
  ['MemoryStore', () => new MemoryStore()],
  ['RedisStore', () => new RedisStore({ client: redis, prefix: `fastify:${Date.now()}:` })],
] as const)('concurrent requests on %s', (_name, makeStore) => {
  it('two overlapping requests changing different attributes both persist', async () => {
    expect(await differentAttributesBothPersist({ store: makeStore() })).toEqual({
      a: 'from-a',
      b: 'from-b',
      views: 1,
    })
  })

  it('a logout racing a slower request stays a logout (no resurrection)', async () => {
    const store = makeStore()
    const { read, record } = await logoutRacingSlowRequest({ store }, store)
    expect(record).toBeUndefined()
    expect(read).toEqual({ a: null, b: null, views: null })
  })
})

describe('the same scenarios on @fastify/session (documents what we fix)', () => {
  it('the peer loses one of two concurrent attribute writes', async () => {
    const body = await differentAttributesBothPersist({}, peer)
    // /a saved last with the copy it loaded before /b ran: b is gone.
    expect(body).toEqual({ a: 'from-a', b: null, views: 1 })
  })

  it('the peer resurrects a session a racing logout destroyed', async () => {
    const { read } = await logoutRacingSlowRequest({}, undefined, peer)
    expect(read).toEqual({ a: 'from-a', b: null, views: 1 })
  })
})

let server: RedisServer
let redis: Redis
beforeAll(async () => {
  server = await startRedis()
  redis = new Redis(server.url)
})
afterAll(async () => {
  redis?.disconnect()
  await server?.stop()
})
