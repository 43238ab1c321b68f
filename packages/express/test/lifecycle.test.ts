import { type SessionChange, SessionError } from '@sessionkit/core'
import { MemoryStore } from '@sessionkit/memory'
import { RedisStore } from '@sessionkit/redis'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { gate, makeApp, request, sessionCookie, setCookieLine } from './helpers'

/** A real MemoryStore whose saves take a few turns of the event loop. */
class SlowSaveStore extends MemoryStore {
  log: string[] = []
  override async save(change: SessionChange) {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
    const result = await super.save(change)
    this.log.push('saved')
    return result
  }
}

describe('the response is held until the session is saved', () => {
  it('a redirect after login finishes only after the store answered', async () => {
    const store = new SlowSaveStore()
    const app = makeApp({ store }, (app) => {
      app.post('/login', (req, res) => {
        res.on('finish', () => store.log.push('finished'))
        req.session.user = 'alice'
        res.redirect('/home')
      })
      app.get('/home', (req, res) => res.send(String(req.session.user)))
    })
    const res = await request(app).post('/login')
    expect(store.log).toEqual(['saved', 'finished'])
    expect((await request(app).get('/home').set('Cookie', sessionCookie(res)!)).text).toBe('alice')
  })

  it('a streamed response (res.write) gets its cookie and its save', async () => {
    const app = makeApp({}, (app) => {
      app.get('/stream', (req, res) => {
        req.session.user = 'streamer'
        res.write('a')
        res.write('b')
        res.end('c')
      })
      app.get('/read', (req, res) => res.send(String(req.session.user)))
    })
    const res = await request(app).get('/stream')
    expect(res.text).toBe('abc')
    expect((await request(app).get('/read').set('Cookie', sessionCookie(res)!)).text).toBe('streamer')
  })
})

/** A real MemoryStore that can be switched into an outage. */
class FlakyStore extends MemoryStore {
  down = false
  override async load(id: string) {
    if (this.down) throw new SessionError('STORE_UNAVAILABLE', 'store is down')
    return super.load(id)
  }
  override async save(change: SessionChange) {
    if (this.down) throw new SessionError('STORE_UNAVAILABLE', 'store is down')
    return super.save(change)
  }
}

describe('store failures reach the error handler (no silent logout)', () => {
  const routes = (app: any) => {
    app.post('/login', (req: any, res: any) => {
      req.session.user = 'alice'
      res.send('ok')
    })
    app.get('/read', (req: any, res: any) => res.send(String(req.session.user)))
  }

  it('on load: 503 from the error handler, not a fresh session', async () => {
    const store = new FlakyStore()
    const app = makeApp({ store }, routes)
    const cookie = sessionCookie(await request(app).post('/login'))!
    store.down = true
    const res = await request(app).get('/read').set('Cookie', cookie)
    expect(res.status).toBe(503)
    expect(res.text).toBe('error: store is down')
    expect(sessionCookie(res)).toBeUndefined()
    store.down = false
    expect((await request(app).get('/read').set('Cookie', cookie)).text).toBe('alice')
  })

  it('on save of a session the cookie would name for the first time: the error handler answers, nothing was sent', async () => {
    const store = new FlakyStore()
    const errors: unknown[] = []
    const app = makeApp({ store }, (app) => {
      app.post('/login', (req: any, res: any) => {
        req.session.user = 'alice'
        store.down = true
        res.send('ok')
      })
      app.use((err: any, _req: any, res: any, next: any) => {
        errors.push(err)
        if (res.headersSent) return next(err)
        res.status(err.statusCode).send('try again')
      })
    })
    const res = await request(app).post('/login')
    expect([res.status, res.text, res.headers['set-cookie']]).toEqual([503, 'try again', undefined])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ code: 'STORE_UNAVAILABLE' })
  })

  it("on save of a session the client already holds: the handler's response completes, then the error reaches next(err), as with express-session", async () => {
    const store = new FlakyStore()
    const errors: unknown[] = []
    const app = makeApp({ store }, (app) => {
      routes(app)
      app.post('/cart', (req: any, res: any) => {
        req.session.cart = ['apple']
        store.down = true
        res.send('ok')
      })
      app.use((err: any, _req: any, res: any, next: any) => {
        errors.push(err)
        if (res.headersSent) return next(err)
        res.status(500).send('too late')
      })
    })
    const cookie = sessionCookie(await request(app).post('/login'))!
    const res = await request(app).post('/cart').set('Cookie', cookie)
    expect(res.status).toBe(200)
    expect(res.text).toBe('ok')
    await new Promise((resolve) => setImmediate(resolve))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ code: 'STORE_UNAVAILABLE' })
  })

  it('a session over the size limit is a 413 from the error handler', async () => {
    const app = makeApp({}, (app) => {
      app.post('/big', (req: any, res: any) => {
        req.session.blob = 'x'.repeat(2 * 1024 * 1024)
        res.send('ok')
      })
    })
    const res = await request(app).post('/big')
    expect(res.status).toBe(413)
  })

  let redis: RedisServer | undefined
  const clients: Redis[] = []
  afterAll(async () => {
    for (const c of clients) c.disconnect()
    await redis?.stop()
  })

  it('a real Redis going away is an error response, not a logout', async () => {
    redis = await startRedis()
    const client = new Redis(redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false })
    client.on('error', () => {})
    clients.push(client)
    await new Promise((resolve) => client.once('ready', resolve))
    const app = makeApp({ store: new RedisStore({ client, prefix: 'down:', commandTimeoutMs: 500 }) }, routes)
    const cookie = sessionCookie(await request(app).post('/login'))!
    await redis.stop()
    redis = undefined
    const res = await request(app).get('/read').set('Cookie', cookie)
    expect(res.status).toBeGreaterThanOrEqual(500)
    expect(res.text).toMatch(/^error: /)
    expect(sessionCookie(res)).toBeUndefined()
  })
})

describe('an invalid expiry set by app code behaves as in express-session', () => {
  /** An app whose error handler records errors that arrive after the response started. */
  function appWithLateErrors(store: MemoryStore) {
    const late: string[] = []
    const arrived = gate()
    const app = makeApp({ store, cookie: { maxAge: 60_000 } }, (app) => {
      app.get('/login', (req: any, res: any) => {
        req.session.user = 'ann'
        res.send('ok')
      })
      app.get('/remember', (req: any, res: any) => {
        req.session.cookie.maxAge = Number(req.query.ms)
        req.session.remember = req.query.ms
        res.send('ok')
      })
      app.get('/expires', (req: any, res: any) => {
        req.session.user = 'ann'
        req.session.cookie.expires = new Date(Number.NaN)
        res.send('ok')
      })
      app.use((err: any, _req: any, res: any, next: any) => {
        if (!res.headersSent) return next(err)
        late.push(err.message)
        arrived.open()
      })
    })
    return { app, late, arrived: arrived.promise }
  }

  it('maxAge = NaN: the response completes without Set-Cookie, the session is saved, the error reaches next(err)', async () => {
    const store = new MemoryStore()
    const { app, late, arrived } = appWithLateErrors(store)
    const cookie = sessionCookie(await request(app).get('/login'))!
    const id = decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!
    const broken = await request(app).get('/remember?ms=NaN').set('Cookie', cookie)
    expect([broken.status, broken.text, sessionCookie(broken)]).toEqual([200, 'ok', undefined])
    await arrived
    expect(late).toEqual(['option expires is invalid']) // express-session's message
    const stored = await store.load(id)
    expect(stored!.attributes.remember).toBe('"NaN"')
    for (const ms of ['1e16', '1e308']) {
      const res = await request(app).get(`/remember?ms=${ms}`).set('Cookie', cookie)
      expect(res.status).toBe(200)
      const expires = Date.parse(/Expires=([^;]+)/.exec(setCookieLine(res)!)![1]!)
      expect(expires).toBeLessThanOrEqual(Date.now() + 400 * 86_400_000)
      expect((await store.load(id))!.maxInactiveMs).toBe(400 * 86_400_000)
    }
  })

  it('expires = new Date(NaN) on a new session: 200 without Set-Cookie, the error reaches next(err)', async () => {
    const store = new MemoryStore()
    const { app, late, arrived } = appWithLateErrors(store)
    const res = await request(app).get('/expires')
    expect([res.status, res.text, sessionCookie(res)]).toEqual([200, 'ok', undefined])
    await arrived
    expect(late).toEqual(['option expires is invalid'])
    expect(store.size).toBe(1) // express-session saves it too
  })
})
