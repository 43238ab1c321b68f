/**
 * A new or rotated session is confirmed only once the store confirmed it: a response that
 * would set the cookie of a session not yet in the store waits for the save, and a failed
 * save is the store's error (503) with no Set-Cookie, so the client keeps the cookie it had.
 */
import { type SessionChange, SessionError } from '@sessionkit/core'
import { MemoryStore } from '@sessionkit/memory'
import { RedisStore } from '@sessionkit/redis'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import type { Express } from 'express'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SessionOptions } from '../src/index'
import { makeApp, request, sessionCookie } from './helpers'

/** A real MemoryStore whose saves reject with STORE_UNAVAILABLE while `down` (loads still work). */
class SaveOutageStore extends MemoryStore {
  down = false
  override async save(change: SessionChange) {
    if (this.down) throw new SessionError('STORE_UNAVAILABLE', 'store is down')
    return super.save(change)
  }
}

/** How each route sends its body: one `res.send`, or streamed (`res.write` before `res.end`). */
const BODIES = {
  sent: (res: any, text: string) => res.send(text),
  streamed: (res: any, text: string) => {
    res.write(text.slice(0, 1))
    res.end(text.slice(1))
  },
} as const

/**
 * Login (`changeId` when already logged in, as the README's example does) and a read. The
 * outage starts inside the login route, after the request's session was loaded.
 */
function loginApp(
  options: SessionOptions,
  outage: { start(): Promise<void> | void },
  body: (res: any, text: string) => void,
): Express {
  return makeApp(options, (app) => {
    app.post('/login', async (req: any, res: any) => {
      await outage.start()
      if (req.session.user) await req.session.changeId()
      req.session.user = String(req.query.user)
      body(res, `welcome ${req.session.user}`)
    })
    app.get('/me', (req: any, res: any) => res.send(String(req.session.user ?? 'anonymous')))
  })
}

const BODY_KINDS = Object.keys(BODIES) as (keyof typeof BODIES)[]

describe.each(BODY_KINDS)('a save that fails (store rejects with STORE_UNAVAILABLE), body %s', (kind) => {
  const setup = () => {
    const store = new SaveOutageStore()
    let failNext = false
    const outage = {
      start() {
        if (failNext) store.down = true
      },
    }
    const app = loginApp({ store }, outage, BODIES[kind])
    return {
      store,
      app,
      failNextLogin: () => {
        failNext = true
      },
      recover: () => {
        failNext = false
        store.down = false
      },
    }
  }

  it('a cookie-less login is a 503 without Set-Cookie, and the client is anonymous next time', async () => {
    const { store, app, failNextLogin, recover } = setup()
    failNextLogin()
    const res = await request(app).post('/login?user=ann')
    expect([res.status, res.text]).toEqual([503, 'error: store is down'])
    expect(res.headers['set-cookie']).toBeUndefined()
    recover()
    expect(store.ids()).toEqual([])
    expect((await request(app).get('/me')).text).toBe('anonymous')
  })

  it('a re-login (changeId) is a 503 that keeps the old cookie, still logged in once the store is back', async () => {
    const { app, failNextLogin, recover } = setup()
    const first = await request(app).post('/login?user=ann')
    expect(first.status).toBe(200)
    const cookie = sessionCookie(first)!
    failNextLogin()
    const res = await request(app).post('/login?user=bob').set('Cookie', cookie)
    expect([res.status, res.text]).toEqual([503, 'error: store is down'])
    expect(res.headers['set-cookie']).toBeUndefined()
    recover()
    expect((await request(app).get('/me').set('Cookie', cookie)).text).toBe('ann')
  })

  it('when the store works, the login is answered with its cookie and the session exists', async () => {
    const { store, app } = setup()
    const res = await request(app).post('/login?user=ann')
    expect([res.status, res.text]).toEqual([200, 'welcome ann'])
    expect(store.ids()).toHaveLength(1)
    const relogin = await request(app).post('/login?user=bob').set('Cookie', sessionCookie(res)!)
    expect([relogin.status, relogin.text]).toEqual([200, 'welcome bob'])
    expect(sessionCookie(relogin)).not.toBe(sessionCookie(res))
    expect((await request(app).get('/me').set('Cookie', sessionCookie(relogin)!)).text).toBe('bob')
    expect(store.ids()).toHaveLength(1)
  })
})

describe('a real Redis paused (SIGSTOP) during the login', () => {
  let redis: RedisServer
  let client: Redis
  beforeAll(async () => {
    redis = await startRedis()
    client = new Redis(redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false })
    client.on('error', () => {})
    await new Promise((resolve) => client.once('ready', resolve))
  })
  afterAll(async () => {
    client?.disconnect()
    await redis?.stop()
  })

  describe.each(BODY_KINDS)('body %s', (kind) => {
    const setup = () => {
      let pauseNext = false
      const outage = {
        async start() {
          if (!pauseNext) return
          pauseNext = false
          await redis.pause()
        },
      }
      const store = new RedisStore({
        client,
        prefix: `confirm-${kind}-${Math.random()}:`,
        commandTimeoutMs: 300,
      })
      const app = loginApp({ store }, outage, BODIES[kind])
      return {
        app,
        pauseNextLogin: () => {
          pauseNext = true
        },
      }
    }

    it('a cookie-less login is a 503 without Set-Cookie; after SIGCONT the client is anonymous, as it was told', async () => {
      const { app, pauseNextLogin } = setup()
      pauseNextLogin()
      let res: request.Response
      try {
        res = await request(app).post('/login?user=ann')
      } finally {
        redis.resume()
      }
      expect(res.status).toBe(503)
      expect(res.headers['set-cookie']).toBeUndefined()
      expect((await request(app).get('/me')).text).toBe('anonymous')
    })

    it('a re-login (changeId) is a 503 keeping the old cookie; after SIGCONT that cookie is still logged in', async () => {
      const { app, pauseNextLogin } = setup()
      const cookie = sessionCookie(await request(app).post('/login?user=ann'))!
      pauseNextLogin()
      let res: request.Response
      try {
        res = await request(app).post('/login?user=bob').set('Cookie', cookie)
      } finally {
        redis.resume()
      }
      expect(res.status).toBe(503)
      expect(res.headers['set-cookie']).toBeUndefined()
      expect((await request(app).get('/me').set('Cookie', cookie)).text).toBe('ann')
    })
  })
})

/** A real MemoryStore that records, at each save, how many bytes the response had sent by then. */
class WatchingStore extends SaveOutageStore {
  response: any
  sentAtSave: number[] = []
  override async save(change: SessionChange) {
    this.sentAtSave.push(this.response.socket.bytesWritten)
    return super.save(change)
  }
}

/** Ways an app sends a response, each ending with the body `abc`. */
const RESPONSES: Record<string, (res: any) => Promise<void> | void> = {
  'res.send': (res) => res.send('abc'),
  'res.write then res.end': (res) => {
    res.write('a')
    res.end('bc')
  },
  'res.writeHead then res.end': (res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    res.end('abc')
  },
  'res.flushHeaders then writes': (res) => {
    res.flushHeaders()
    res.write('ab')
    res.end('c')
  },
  'writes on later turns': async (res) => {
    res.write('a')
    await new Promise((resolve) => setImmediate(resolve))
    res.write('b')
    await new Promise((resolve) => setImmediate(resolve))
    res.end('c')
  },
}

describe.each(Object.keys(RESPONSES))('responding with %s', (how) => {
  const setup = () => {
    const store = new WatchingStore()
    const app = makeApp({ store }, (app) => {
      app.post('/login', async (req: any, res: any) => {
        store.response = res
        req.session.user = 'ann'
        await RESPONSES[how]!(res)
      })
      app.post('/cart', async (req: any, res: any) => {
        store.response = res
        req.session.cart = ['apple']
        await RESPONSES[how]!(res)
      })
      app.get('/me', (req: any, res: any) => res.send(`${req.session.user}:${req.session.cart}`))
    })
    return { store, app }
  }

  it('a new session: nothing of the response has left when the store saves it; then the cookie and the body', async () => {
    const { store, app } = setup()
    const res = await request(app).post('/login')
    expect([res.status, res.text]).toEqual([200, 'abc'])
    expect(store.sentAtSave).toEqual([0])
    expect((await request(app).get('/me').set('Cookie', sessionCookie(res)!)).text).toBe('ann:undefined')
  })

  it('a new session whose save fails: 503 from the error handler, no cookie, the rest of the body dropped', async () => {
    const { store, app } = setup()
    store.down = true
    const res = await request(app).post('/login')
    expect([res.status, res.text, res.headers['set-cookie']]).toEqual([
      503,
      'error: store is down',
      undefined,
    ])
    store.down = false
    expect(store.ids()).toEqual([])
  })

  it('a session the client holds, no new cookie: the save happens after the headers left, as with express-session', async () => {
    const { store, app } = setup()
    const cookie = sessionCookie(await request(app).post('/login'))!
    store.sentAtSave = []
    const res = await request(app).post('/cart').set('Cookie', cookie)
    expect([res.status, res.text, res.headers['set-cookie']]).toEqual([200, 'abc', undefined])
    expect(store.sentAtSave).toHaveLength(1)
    // After an explicit writeHead the headers go out with the body, once the store answered.
    if (how !== 'res.writeHead then res.end') expect(store.sentAtSave[0]).toBeGreaterThan(0)
    expect((await request(app).get('/me').set('Cookie', cookie)).text).toBe('ann:apple')
  })
})
