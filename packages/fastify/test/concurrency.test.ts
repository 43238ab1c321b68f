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

/**
 * Routes for a read-only request that waits while another request of the same session
 * rotates its id: `/slow?trial=n` loads the session, signals, waits for the trial's gate.
 */
function rotationRoutes(trials: Map<string, { entered: () => void; gate: Promise<void> }>) {
  return (app: Running['app']) => {
    app.get('/init', async (request) => {
      request.session.views = 1
      return { id: request.session.sessionId }
    })
    app.get('/slow', async (request) => {
      const trial = trials.get((request.query as { trial: string }).trial)!
      trial.entered()
      await trial.gate
      return { id: request.session.sessionId }
    })
    app.get('/login', async (request) => {
      const { how } = request.query as { how: string }
      if (how === 'regenerate') await request.session.regenerate(['views'])
      else await request.session.changeId()
      request.session.login = 'ann'
      return { id: request.session.sessionId }
    })
    app.get('/read', async (request) => ({
      id: request.session.sessionId,
      login: request.session.login ?? null,
    }))
  }
}

describe.each<[string, () => SessionStore | undefined]>([
  ['MemoryStore (the default)', () => undefined],
  ['RedisStore', () => new RedisStore({ client: redis, prefix: `fastify:rot:${Date.now()}:` })],
])('rolling cookie and a concurrent rotation on %s', (_name, makeStore) => {
  it('a read-only request re-sends its cookie, but never an id rotated away while it ran', async () => {
    const trials = new Map<string, { entered: () => void; gate: Promise<void> }>()
    const store = makeStore()
    running = await start(
      { ...(store ? { store } : {}), cookie: { maxAge: 3_600_000 } },
      rotationRoutes(trials),
    )
    for (let trial = 0; trial < 20; trial++) {
      const how = trial % 2 === 0 ? 'changeId' : 'regenerate'
      const client = new Client(running.url)
      const first = await client.get('/init')
      // Unmodified, no touch due: the peer's rolling re-send of the same cookie.
      const again = await client.get('/read')
      expect(again.setCookies).toEqual(
        first.setCookies.map((line) => expect.stringContaining(line.split(';')[0]!)),
      )

      const entered = deferred()
      const gate = deferred()
      trials.set(String(trial), { entered: entered.resolve, gate: gate.promise })
      const slow = client.get(`/slow?trial=${trial}`)
      await entered.promise
      const login = await client.get(`/login?how=${how}`)
      expect(login.body.id).not.toBe(first.body.id)
      gate.resolve()
      const late = await slow
      expect(late.body.id).toBe(first.body.id)
      expect(late.setCookies).toEqual([])
      expect(await client.get('/read')).toMatchObject({ body: { id: login.body.id, login: 'ann' } })
    }
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
