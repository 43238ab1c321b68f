import { createRequire } from 'node:module'
import type { SessionStore } from '@sessionkit/core'
import { RedisStore } from '@sessionkit/redis'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import express, { type Express } from 'express'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import session, { MemoryStore } from '../src/index'
import { gate, request, SECRET, sessionCookie } from './helpers'

// The real express-session, untyped on purpose: its @types would clash with ours in one program.
const peerSession = createRequire(import.meta.url)('express-session')

type Gates = { entered: ReturnType<typeof gate>; release: ReturnType<typeof gate> }

/**
 * /login sets `user`; /slow sets `a` then waits for the test; /fast sets `b`; /logout
 * destroys; /read shows the data. `middleware` is ours or the peer's.
 */
function raceApp(middleware: express.RequestHandler, gates: () => Gates): Express {
  const app = express()
  app.use(middleware)
  app.post('/login', (req, res) => {
    ;(req.session as any).user = 'alice'
    res.send('ok')
  })
  app.get('/slow', async (req, res) => {
    const g = gates()
    ;(req.session as any).a = 1
    g.entered.open()
    await g.release.promise
    res.send('slow done')
  })
  app.get('/fast', (req, res) => {
    ;(req.session as any).b = 2
    res.send('fast done')
  })
  app.post('/logout', (req, res, next) => {
    req.session.destroy((err: unknown) => (err ? next(err) : res.send('bye')))
  })
  app.get('/read', (req, res) => {
    const { cookie: _cookie, ...data } = req.session as any
    res.json(data)
  })
  return app
}

async function overlapDifferentAttributes(app: Express, g: Gates) {
  const login = await request(app).post('/login')
  const cookie = sessionCookie(login)!
  const slow = request(app)
    .get('/slow')
    .set('Cookie', cookie)
    .then((r) => r)
  await g.entered.promise // the slow request has loaded the session
  const fast = await request(app).get('/fast').set('Cookie', cookie)
  expect(fast.text).toBe('fast done')
  g.release.open()
  expect((await slow).text).toBe('slow done')
  return (await request(app).get('/read').set('Cookie', cookie)).body
}

async function logoutRacingSlowRequest(app: Express, g: Gates) {
  const login = await request(app).post('/login')
  const cookie = sessionCookie(login)!
  const slow = request(app)
    .get('/slow')
    .set('Cookie', cookie)
    .then((r) => r)
  await g.entered.promise
  const bye = await request(app).post('/logout').set('Cookie', cookie)
  expect(bye.text).toBe('bye')
  g.release.open()
  const late = await slow
  expect(late.text).toBe('slow done')
  const after = await request(app).get('/read').set('Cookie', cookie)
  return { late, after: after.body, id: idOf(cookie) }
}

/** The session id inside `connect.sid=s%3A<id>.<mac>`. */
export const idOf = (cookie: string) => decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!

const newGates = (): Gates => ({ entered: gate(), release: gate() })

function ourSuite(label: string, makeStore: () => SessionStore) {
  describe(`concurrent requests on ${label}`, () => {
    for (const resave of [false, true]) {
      it(`two requests changing different attributes both persist (resave: ${resave})`, async () => {
        const g = newGates()
        const mw = session({ secret: SECRET, resave, saveUninitialized: false, store: makeStore() })
        const data = await overlapDifferentAttributes(
          raceApp(mw, () => g),
          g,
        )
        expect(data).toEqual({ user: 'alice', a: 1, b: 2 })
      })
    }

    it('a logout racing a slower request stays a logout', async () => {
      const g = newGates()
      const mw = session({ secret: SECRET, resave: true, saveUninitialized: false, store: makeStore() })
      const app = raceApp(mw, () => g)
      const { late, after, id } = await logoutRacingSlowRequest(app, g)
      expect(sessionCookie(late)).toBeUndefined()
      expect(after).toEqual({}) // a new, empty session: not alice's
      expect(await mw.repository.load(id)).toBeUndefined() // not recreated, not even partially
    })
  })
}

ourSuite('MemoryStore', () => new MemoryStore())

let redis: RedisServer
const clients: Redis[] = []
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  for (const c of clients) c.disconnect()
  await redis?.stop()
})
let prefixes = 0
ourSuite('RedisStore (real redis-server)', () => {
  const client = new Redis(redis.url)
  clients.push(client)
  return new RedisStore({ client, prefix: `race${++prefixes}:` })
})

describe('the real express-session, for comparison (so these tests can fail)', () => {
  it('loses one of two concurrent attribute changes', async () => {
    const g = newGates()
    const mw = peerSession({ secret: SECRET, resave: false, saveUninitialized: false })
    const data = await overlapDifferentAttributes(
      raceApp(mw, () => g),
      g,
    )
    expect(data.user).toBe('alice')
    expect(data).not.toEqual({ user: 'alice', a: 1, b: 2 })
    expect(data.b).toBeUndefined() // the slow request wrote its stale copy last
  })

  it('resurrects the session a logout destroyed, when a slower request saves after it', async () => {
    const g = newGates()
    const mw = peerSession({ secret: SECRET, resave: false, saveUninitialized: false })
    const { after } = await logoutRacingSlowRequest(
      raceApp(mw, () => g),
      g,
    )
    expect(after).toEqual({ user: 'alice', a: 1 })
  })
})
