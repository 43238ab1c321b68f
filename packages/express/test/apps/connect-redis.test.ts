/**
 * connect-redis 10 (a third-party connect store on node-redis) passed as `store:`, as its
 * README shows, against a real redis-server: our middleware drives it through the connect
 * callback API. Then a mixed fleet during a migration: one app still on express-session, one on
 * @sessionkit/express, both on connect-redis with the same secret and prefix, sharing users.
 */
import { setTimeout as delay } from 'node:timers/promises'
import session from '@sessionkit/express'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import { RedisStore } from 'connect-redis'
import express from 'express'
import { createClient } from 'redis'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expressSession, idOf, type SessionFactory, sessionCookie, setCookieLine } from './support'

const SECRET = 'keyboard cat'
let server: RedisServer
let client: ReturnType<typeof createClient>

beforeAll(async () => {
  server = await startRedis()
  client = createClient({ url: server.url })
  client.on('error', () => {}) // as connect-redis's README: node-redis wants an error listener
  await client.connect()
})
afterAll(async () => {
  client?.destroy()
  await server?.stop()
})

/** A small app: login stores the user, cart modifies, logout destroys. */
function app(sessionFactory: SessionFactory, options: Record<string, unknown> = {}) {
  const app = express()
  app.use(
    sessionFactory({
      store: new RedisStore({ client, ...((options.storeOptions as object) ?? {}) }),
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      ...options,
      storeOptions: undefined,
    }),
  )
  app.post('/login', (req, res, next) => {
    req.session.regenerate((err) => {
      if (err) return next(err)
      ;(req.session as any).user = String(req.query.user ?? 'alice')
      if (req.query.remember) req.session.cookie.maxAge = Number(req.query.remember)
      req.session.save((err) => {
        if (err) return next(err)
        res.redirect('/')
      })
    })
  })
  app.post('/cart', (req, res) => {
    const s = req.session as any
    s.cart = [...(s.cart ?? []), String(req.query.item)]
    res.send('ok')
  })
  app.get('/me', (req, res) => {
    const { cookie, __sessionkit: _meta, ...data } = req.session as any
    res.json({ id: req.sessionID, data, maxAge: cookie.originalMaxAge })
  })
  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err)
      res.clearCookie('connect.sid').send('bye')
    })
  })
  return app
}

const stored = async (id: string | undefined, prefix = 'sess:') => {
  const raw = await client.get(`${prefix}${id}`)
  return raw === null ? null : JSON.parse(raw)
}

describe('connect-redis 10 as the store', () => {
  it('create, read, modify, destroy: each visible in redis under sess:<id>', async () => {
    const server = app(session)
    const agent = request.agent(server)
    const login = await agent.post('/login?user=alice')
    expect(login.status).toBe(302)
    const id = idOf(sessionCookie(login))!
    expect(await stored(id)).toMatchObject({ user: 'alice', cookie: { originalMaxAge: null } })
    // a browser-session cookie: connect-redis's default TTL of one day
    expect(await client.ttl(`sess:${id}`)).toBeGreaterThan(86_000)

    expect((await agent.get('/me')).body).toEqual({ id, data: { user: 'alice' }, maxAge: null })
    await agent.post('/cart?item=book').expect(200)
    await agent.post('/cart?item=pen').expect(200)
    expect(await stored(id)).toMatchObject({ user: 'alice', cart: ['book', 'pen'] })
    expect((await agent.get('/me')).body.data).toEqual({ user: 'alice', cart: ['book', 'pen'] })

    await agent.post('/logout').expect(200)
    expect(await stored(id)).toBeNull()
    const after = await request(server).get('/me').set('Cookie', sessionCookie(login)!)
    expect(after.body.data).toEqual({})
    expect(after.body.id).not.toBe(id)
  })

  it('regenerate deletes the old key; the new one holds the data', async () => {
    const agent = request.agent(app(session))
    const first = await agent.post('/login?user=alice')
    const second = await agent.post('/login?user=bob')
    const [a, b] = [idOf(sessionCookie(first)), idOf(sessionCookie(second))]
    expect(a).not.toBe(b)
    expect(await stored(a)).toBeNull()
    expect(await stored(b)).toMatchObject({ user: 'bob' })
  })

  it('cookie.maxAge gives the redis TTL and the Expires of the cookie', async () => {
    const login = await request(app(session)).post('/login?remember=3600000')
    const id = idOf(sessionCookie(login))
    const ttl = await client.ttl(`sess:${id}`)
    expect(ttl).toBeGreaterThan(3590)
    expect(ttl).toBeLessThanOrEqual(3600)
    const expires = Date.parse(/Expires=([^;]+)/.exec(setCookieLine(login)!)![1]!)
    expect(Math.abs(expires - (Date.now() + 3600_000))).toBeLessThan(5000)
    expect((await stored(id)).cookie.originalMaxAge).toBe(3600000)
  })

  it('a session expires at its cookie.maxAge: the key is gone and the cookie no longer logs in', async () => {
    const server = app(session, { cookie: { maxAge: 1000 } })
    const login = await request(server).post('/login')
    const cookie = sessionCookie(login)!
    const id = idOf(cookie)
    const deadline = await client.pExpireTime(`sess:${id}`) // connect-redis: TTL from cookie.expires
    expect(deadline - Date.now()).toBeGreaterThan(0)
    expect(deadline - Date.now()).toBeLessThanOrEqual(1000)
    expect((await request(server).get('/me').set('Cookie', cookie)).body.data).toEqual({ user: 'alice' })
    // That read touched the session (EXPIRE from the reset cookie, as express-session does): the
    // deadline to wait for is the one it set, however long the machine took to get there.
    const touched = await client.pExpireTime(`sess:${id}`)
    expect(touched).toBeGreaterThanOrEqual(deadline)
    await delay(Math.max(0, touched - Date.now()) + 5) // the deadline itself, nothing more
    expect((await request(server).get('/me').set('Cookie', cookie)).body.data).toEqual({})
    expect(await stored(id)).toBeNull()
  })

  it.each([
    ['express-session', expressSession],
    ['@sessionkit/express', session],
  ])(
    'rolling + maxAge (idle timeout) on %s: an active user stays logged in past the first deadline',
    async (_name, impl) => {
      // Unmodified requests only extend the TTL (connect-redis `touch` is EXPIRE): the JSON in
      // redis keeps the expiry of the last full write, which must not end the session.
      const server = app(impl, { rolling: true, cookie: { maxAge: 1000 } })
      const login = await request(server).post('/login')
      const cookie = sessionCookie(login)!
      const deadline = Date.parse((await stored(idOf(cookie))).cookie.expires)
      await delay(Math.max(0, deadline - Date.now() - 500))
      const active = await request(server).get('/me').set('Cookie', cookie)
      expect(active.body.data).toEqual({ user: 'alice' })
      expect(setCookieLine(active)).toContain('Expires=') // rolling: refreshed on every response
      await delay(Math.max(0, deadline - Date.now()) + 50) // past the first deadline, within the idle time
      const later = await request(server).get('/me').set('Cookie', cookie)
      expect(later.body.data).toEqual({ user: 'alice' })
    },
  )
})

describe('mixed fleet: express-session + connect-redis and @sessionkit/express + connect-redis', () => {
  let peer: express.Express
  let ours: express.Express
  beforeAll(() => {
    // two servers, two store instances, one redis, one secret: a migration in progress
    peer = app(expressSession)
    ours = app(session)
  })

  it('a user logged in on express-session is recognised by @sessionkit/express, and back', async () => {
    const login = await request(peer).post('/login?user=alice')
    const cookie = sessionCookie(login)!
    const id = idOf(cookie)
    const onOurs = await request(ours).get('/me').set('Cookie', cookie)
    expect(onOurs.body).toEqual({ id, data: { user: 'alice' }, maxAge: null })
    await request(ours).post('/cart?item=book').set('Cookie', cookie).expect(200)
    const onPeer = await request(peer).get('/me').set('Cookie', cookie)
    expect(onPeer.body).toEqual({ id, data: { user: 'alice', cart: ['book'] }, maxAge: null })
    await request(peer).post('/cart?item=pen').set('Cookie', cookie).expect(200)
    expect((await request(ours).get('/me').set('Cookie', cookie)).body.data).toEqual({
      user: 'alice',
      cart: ['book', 'pen'],
    })
  })

  it('a user logged in on @sessionkit/express is recognised by express-session, and back', async () => {
    const login = await request(ours).post('/login?user=bob')
    const cookie = sessionCookie(login)!
    const id = idOf(cookie)
    expect((await request(peer).get('/me').set('Cookie', cookie)).body).toEqual({
      id,
      data: { user: 'bob' },
      maxAge: null,
    })
    const peerWrite = await request(peer).post('/cart?item=hat').set('Cookie', cookie)
    expect(peerWrite.status).toBe(200)
    // a browser-session cookie stays one on the peer (no Expires when it re-sends it)
    expect(setCookieLine(peerWrite) ?? '').not.toContain('Expires=')
    expect((await request(ours).get('/me').set('Cookie', cookie)).body.data).toEqual({
      user: 'bob',
      cart: ['hat'],
    })
  })

  it('"remember me" set on one side keeps its lifetime on the other', async () => {
    for (const [from, to] of [
      [peer, ours],
      [ours, peer],
    ] as const) {
      const login = await request(from).post('/login?remember=3600000')
      const cookie = sessionCookie(login)!
      const id = idOf(cookie)
      const write = await request(to).post('/cart?item=x').set('Cookie', cookie)
      expect(write.status).toBe(200)
      const expires = Date.parse(/Expires=([^;]+)/.exec(setCookieLine(write)!)![1]!)
      expect(Math.abs(expires - (Date.now() + 3600_000))).toBeLessThan(5000)
      expect(await client.ttl(`sess:${id}`)).toBeGreaterThan(3590)
      const back = (await request(from).get('/me').set('Cookie', cookie)).body
      expect(back.data).toEqual({ user: 'alice', cart: ['x'] })
      // express-session re-reads the remaining time for originalMaxAge: a millisecond may be gone
      expect(back.maxAge).toBeGreaterThan(3600000 - 50)
      expect(back.maxAge).toBeLessThanOrEqual(3600000)
    }
  })

  it('a logout on either side ends the session on both', async () => {
    for (const [from, to] of [
      [peer, ours],
      [ours, peer],
    ] as const) {
      const cookie = sessionCookie(await request(to).post('/login?user=carol'))!
      expect((await request(from).get('/me').set('Cookie', cookie)).body.data).toEqual({ user: 'carol' })
      await request(from).post('/logout').set('Cookie', cookie).expect(200)
      expect((await request(to).get('/me').set('Cookie', cookie)).body.data).toEqual({})
      expect(await stored(idOf(cookie))).toBeNull()
    }
  })

  it('a login (regenerate) on one side invalidates the old id on the other', async () => {
    for (const [from, to] of [
      [peer, ours],
      [ours, peer],
    ] as const) {
      const before = sessionCookie(await request(to).post('/login?user=dave'))!
      const after = sessionCookie(await request(from).post('/login?user=erin').set('Cookie', before))!
      expect(idOf(after)).not.toBe(idOf(before))
      expect((await request(to).get('/me').set('Cookie', before)).body.data).toEqual({})
      expect((await request(to).get('/me').set('Cookie', after)).body.data).toEqual({ user: 'erin' })
    }
  })

  it('rolling sessions touched by express-session (EXPIRE only) stay alive on @sessionkit/express', async () => {
    const rollingPeer = app(expressSession, { rolling: true, cookie: { maxAge: 1000 } })
    const rollingOurs = app(session, { rolling: true, cookie: { maxAge: 1000 } })
    const cookie = sessionCookie(await request(rollingOurs).post('/login'))!
    const deadline = Date.parse((await stored(idOf(cookie))).cookie.expires)
    await delay(Math.max(0, deadline - Date.now() - 500))
    expect((await request(rollingPeer).get('/me').set('Cookie', cookie)).body.data).toEqual({ user: 'alice' })
    await delay(Math.max(0, deadline - Date.now()) + 50)
    expect((await request(rollingOurs).get('/me').set('Cookie', cookie)).body.data).toEqual({ user: 'alice' })
  })
})
