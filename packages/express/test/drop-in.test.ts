import { createRequire } from 'node:module'
import express from 'express'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import session from '../src/index'
import { request, SECRET } from './helpers'

const peer = createRequire(import.meta.url)('express-session')
const IMPLEMENTATIONS: [string, any][] = [
  ['express-session', peer],
  ['@sessionkit/express', session],
]

/** An app on `impl` with `store`; the error handler answers 500 with the error's message. */
function appWith(impl: any, store: any) {
  const app = express()
  app.use(impl({ secret: SECRET, resave: false, saveUninitialized: false, store }))
  app.get('/set', (req: any, res) => {
    req.session.user = 'ann'
    res.send('ok')
  })
  app.get('/me', (req: any, res) =>
    res.json({ hasSession: req.session !== undefined, user: req.session?.user ?? null }),
  )
  app.use((err: any, _req: any, res: any, _next: any) => res.status(500).send(`error: ${err.message}`))
  return app
}

const cookieOf = (res: request.Response) =>
  (res.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!
const sidOf = (cookie: string) => decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!
const cb = <T>(run: (done: (err: unknown, value?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => run((err, value) => (err ? reject(err) : resolve(value as T))))

/** A connect store keeping JSON strings, as connect-redis does; records its calls. */
function jsonConnectStore(impl: any, touches = false) {
  const sessions = new Map<string, string>()
  const calls: string[] = []
  const methods: Record<string, Function> = {
    get(sid: string, done: (err: unknown, s?: unknown) => void) {
      calls.push('get')
      const raw = sessions.get(sid)
      done(null, raw === undefined ? null : JSON.parse(raw))
    },
    set(sid: string, session: unknown, done: () => void) {
      calls.push('set')
      sessions.set(sid, JSON.stringify(session))
      done()
    },
    destroy(sid: string, done: () => void) {
      calls.push('destroy')
      sessions.delete(sid)
      done()
    },
  }
  if (touches) {
    methods.touch = (_sid: string, _session: unknown, done: () => void) => {
      calls.push('touch')
      done()
    }
  }
  return { store: Object.assign(new impl.Store(), methods), sessions, calls }
}

describe.each(IMPLEMENTATIONS)('%s', (_name, impl) => {
  it('session.MemoryStore is a connect store: get, all, length, destroy, clear with callbacks', async () => {
    const store = new impl.MemoryStore()
    expect(typeof store.on).toBe('function')
    const app = appWith(impl, store)
    const cookie = cookieOf(await request(app).get('/set'))
    const sid = sidOf(cookie)
    const stored = await cb<any>((done) => store.get(sid, done))
    expect(stored.user).toBe('ann')
    expect(stored.cookie).toMatchObject({ path: '/', httpOnly: true, originalMaxAge: null })
    expect(Object.keys(await cb<any>((done) => store.all(done)))).toEqual([sid])
    expect(await cb<number>((done) => store.length(done))).toBe(1)
    await cb((done) => store.destroy(sid, done))
    expect((await request(app).get('/me').set('Cookie', cookie)).body.user).toBeNull()
    await request(app).get('/set')
    await cb((done) => store.clear(done))
    expect(await cb<number>((done) => store.length(done))).toBe(0)
  })

  it("calls the store's methods as the app replaced them: set on save, get on load", async () => {
    const store = new impl.MemoryStore()
    const calls: string[] = []
    for (const name of ['get', 'set'] as const) {
      const original = store[name]
      store[name] = function (this: unknown, ...args: unknown[]) {
        calls.push(name)
        return original.apply(this, args)
      }
    }
    const app = appWith(impl, store)
    const cookie = cookieOf(await request(app).get('/set'))
    expect(calls).toContain('set')
    calls.length = 0
    expect((await request(app).get('/me').set('Cookie', cookie)).body.user).toBe('ann')
    expect(calls).toContain('get')
  })

  it("a replaced get that fails gives a 500 with the store's message; ENOENT starts a new session", async () => {
    const store = new impl.MemoryStore()
    const app = appWith(impl, store)
    const cookie = cookieOf(await request(app).get('/set'))
    store.get = (_sid: string, done: (err: unknown) => void) => done(new Error('boom'))
    const failed = await request(app).get('/me').set('Cookie', cookie)
    expect(failed.status).toBe(500)
    expect(failed.text).toBe('error: boom')
    store.get = (_sid: string, done: (err: unknown) => void) =>
      done(Object.assign(new Error('gone'), { code: 'ENOENT' }))
    const fresh = await request(app).get('/me').set('Cookie', cookie)
    expect(fresh.body).toEqual({ hasSession: true, user: null })
  })

  it('while the store has emitted disconnect, requests go on without req.session; connect brings it back', async () => {
    const store = new impl.MemoryStore()
    const app = appWith(impl, store)
    const cookie = cookieOf(await request(app).get('/set'))
    store.emit('disconnect')
    expect((await request(app).get('/me').set('Cookie', cookie)).body).toEqual({
      hasSession: false,
      user: null,
    })
    store.emit('connect')
    expect((await request(app).get('/me').set('Cookie', cookie)).body).toEqual({
      hasSession: true,
      user: 'ann',
    })
  })

  it("the response is the app's: headersSent after end, a second send errors, send-then-next(err) stays 200", async () => {
    const seen: Record<string, unknown> = {}
    const app = express()
    app.use(impl({ secret: SECRET, resave: false, saveUninitialized: false }))
    app.get('/twice', (req: any, res) => {
      req.session.user = 'ann'
      res.send('ok')
      seen.headersSent = res.headersSent
      try {
        res.send('again')
      } catch (err) {
        seen.second = (err as { code?: string }).code
      }
    })
    app.get('/then-error', (req: any, res, next) => {
      req.session.user = 'bob'
      res.send('ok')
      next(new Error('after the response'))
    })
    app.use((err: any, _req: any, res: any, next: any) => {
      if (res.headersSent) return next(err)
      res.status(500).send(`error: ${err.message}`)
    })
    const twice = await request(app).get('/twice')
    expect(twice.status).toBe(200)
    expect(twice.text).toBe('ok')
    expect(seen).toEqual({ headersSent: true, second: 'ERR_HTTP_HEADERS_SENT' })
    const failed = await request(app).get('/then-error')
    expect(failed.status).toBe(200)
    expect(failed.text).toBe('ok')
  })

  it('cookie.originalMaxAge is the configured maxAge on every request, also through a JSON connect store', async () => {
    // A frozen clock: express-session re-reads the remaining time when it touches the cookie,
    // which is a millisecond short whenever the clock ticks in between (a flaky 59999).
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.UTC(2026, 0, 15, 12))
    onTestFinished(() => {
      vi.useRealTimers()
    })
    const { store } = jsonConnectStore(impl)
    const app = express()
    app.use(
      impl({ secret: SECRET, resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 } }),
    )
    app.get('/set', (req: any, res) => {
      req.session.n = (req.session.n ?? 0) + 1
      res.json({ originalMaxAge: req.session.cookie.originalMaxAge })
    })
    const first = await request(app).get('/set')
    const cookie = cookieOf(first)
    const seen = [first.body.originalMaxAge]
    for (let i = 0; i < 2; i++)
      seen.push((await request(app).get('/set').set('Cookie', cookie)).body.originalMaxAge)
    expect(seen).toEqual([60_000, 60_000, 60_000])
  })

  it('drives a connect store exactly as express-session: the same calls, the same objects', async () => {
    const { store, sessions, calls } = jsonConnectStore(impl, true)
    const app = express()
    app.use(
      impl({ secret: SECRET, resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 } }),
    )
    app.get('/set', (req: any, res) => {
      req.session.n = (req.session.n ?? 0) + 1
      res.send('ok')
    })
    app.get('/read', (_req, res) => res.send('ok'))
    app.get('/logout', (req: any, res) => req.session.destroy(() => res.send('ok')))
    const steps: string[][] = []
    const step = async (path: string, cookie?: string) => {
      calls.length = 0
      const r = request(app).get(path)
      const res = await (cookie ? r.set('Cookie', cookie) : r)
      steps.push([...calls])
      return res
    }
    const cookie = cookieOf(await step('/set'))
    const stored = JSON.parse([...sessions.values()][0]!)
    await step('/read', cookie)
    await step('/set', cookie)
    await step('/logout', cookie)
    expect(steps).toEqual([['set'], ['get', 'touch'], ['get', 'set'], ['get', 'destroy']])
    expect(Object.keys(stored)).toEqual(['cookie', 'n'])
    expect(Object.keys(stored.cookie).sort()).toEqual(
      [
        'domain',
        'expires',
        'httpOnly',
        'originalMaxAge',
        'partitioned',
        'path',
        'priority',
        'sameSite',
        'secure',
      ].filter((key) => key in stored.cookie),
    )
  })
})
