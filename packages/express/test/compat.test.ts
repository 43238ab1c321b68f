import { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import { inherits } from 'node:util'
import { isSessionStore } from '@sessionkit/core'
import express from 'express'
import { describe, expect, it } from 'vitest'
import session, { Cookie, MemoryStore, Session, Store } from '../src/index'
import { makeApp, request, SECRET, sessionCookie } from './helpers'

const require = createRequire(import.meta.url)
const peerSession = require('express-session')
const signature = require('cookie-signature')

/** An app on the peer or on us, sharing `store`. */
function appOn(middleware: express.RequestHandler) {
  const app = express()
  app.use(middleware)
  app.post('/login', (req, res) => {
    ;(req.session as any).user = 'alice'
    res.send('ok')
  })
  app.post('/cart', (req, res) => {
    ;(req.session as any).cart = ['book']
    res.send('ok')
  })
  app.get('/read', (req, res) => {
    const { cookie: _c, __sessionkit: _m, ...data } = req.session as any
    res.json({ id: req.sessionID, data })
  })
  return app
}

describe('cookies issued by express-session', () => {
  it('are read by our middleware: the session lives on in a shared connect store', async () => {
    const store = new peerSession.MemoryStore()
    const opts = { secret: SECRET, resave: false, saveUninitialized: false, store }
    const peerApp = appOn(peerSession(opts))
    const ourApp = appOn(session(opts))
    const login = await request(peerApp).post('/login')
    const cookie = sessionCookie(login)!
    expect(cookie).toMatch(/^connect\.sid=s%3A/)
    const read = await request(ourApp).get('/read').set('Cookie', cookie)
    expect(read.body.data).toEqual({ user: 'alice' })
    // and back: what our app writes, the peer app reads
    await request(ourApp).post('/cart').set('Cookie', cookie)
    const back = await request(peerApp).get('/read').set('Cookie', cookie)
    expect(back.body.data).toEqual({ user: 'alice', cart: ['book'] })
    expect(back.body.id).toBe(read.body.id)
  })

  it('carry the same signature we produce: s:<id>.<HMAC-SHA256 base64 without padding>', async () => {
    const app = makeApp({ saveUninitialized: true }, (app) => app.get('/', (_req, res) => res.send('x')))
    const res = await request(app).get('/')
    const value = decodeURIComponent(sessionCookie(res)!.slice('connect.sid='.length))
    const id = value.slice(2, value.lastIndexOf('.'))
    expect(value).toBe(`s:${signature.sign(id, SECRET)}`)
    expect(value).not.toContain('=')
  })

  it('signed with an older secret stay valid after rotation (secret array)', async () => {
    const store = new peerSession.MemoryStore()
    const old = appOn(peerSession({ secret: 'old', resave: false, saveUninitialized: false, store }))
    const cookie = sessionCookie(await request(old).post('/login'))!
    const rotated = appOn(session({ secret: ['new', 'old'], resave: false, saveUninitialized: false, store }))
    expect((await request(rotated).get('/read').set('Cookie', cookie)).body.data).toEqual({ user: 'alice' })
    const wrong = appOn(session({ secret: 'other', resave: false, saveUninitialized: false, store }))
    expect((await request(wrong).get('/read').set('Cookie', cookie)).body.data).toEqual({})
  })
})

describe('connect stores extending our Store', () => {
  class MapStore extends Store {
    readonly map = new Map<string, string>()
    get(sid: string, cb: (err: unknown, s?: unknown) => void) {
      const text = this.map.get(sid)
      setImmediate(() => cb(null, text ? JSON.parse(text) : null))
    }
    set(sid: string, s: unknown, cb?: (err?: unknown) => void) {
      this.map.set(sid, JSON.stringify(s))
      setImmediate(() => cb?.())
    }
    destroy(sid: string, cb?: (err?: unknown) => void) {
      this.map.delete(sid)
      setImmediate(() => cb?.())
    }
  }

  it('a class store works as `store:`', async () => {
    const store = new MapStore()
    expect(store).toBeInstanceOf(EventEmitter)
    const app = appOn(session({ secret: SECRET, resave: false, saveUninitialized: false, store }))
    const cookie = sessionCookie(await request(app).post('/login'))!
    expect((await request(app).get('/read').set('Cookie', cookie)).body.data).toEqual({ user: 'alice' })
    expect(store.map.size).toBe(1)
  })

  it('an ES5 store calling Store.call(this) works, and inherits load/createSession', async () => {
    function LegacyStore(this: any) {
      Store.call(this)
      this.sessions = {} as Record<string, string>
    }
    inherits(LegacyStore, Store as any)
    LegacyStore.prototype.get = function (sid: string, cb: any) {
      cb(null, this.sessions[sid] ? JSON.parse(this.sessions[sid]) : undefined)
    }
    LegacyStore.prototype.set = function (sid: string, s: unknown, cb: any) {
      this.sessions[sid] = JSON.stringify(s)
      cb?.()
    }
    LegacyStore.prototype.destroy = function (sid: string, cb: any) {
      delete this.sessions[sid]
      cb?.()
    }
    const store = new (LegacyStore as any)()
    expect(store).toBeInstanceOf(Store)
    const app = appOn(session({ secret: SECRET, resave: false, saveUninitialized: false, store }))
    const cookie = sessionCookie(await request(app).post('/login'))!
    const id = (await request(app).get('/read').set('Cookie', cookie)).body.id
    const loaded = await new Promise<any>((resolve, reject) =>
      store.load(id, (err: unknown, s: unknown) => (err ? reject(err) : resolve(s))),
    )
    expect(loaded).toBeInstanceOf(Session)
    expect(loaded.user).toBe('alice')
    expect(loaded.cookie).toBeInstanceOf(Cookie)
    expect(loaded.id).toBe(id)
  })

  it('Store.prototype.regenerate destroys and calls generate, as the peer base class does', async () => {
    const store = new MapStore()
    store.map.set('old', '{}')
    const generated: unknown[] = []
    store.generate = (req: unknown) => generated.push(req)
    const req = { sessionID: 'old' }
    await new Promise<void>((resolve) => store.regenerate(req, () => resolve()))
    expect(store.map.has('old')).toBe(false)
    expect(generated).toEqual([req])
  })
})

describe('module shape', () => {
  it('exports the middleware with Store, MemoryStore, Session and Cookie on it', () => {
    expect(typeof session).toBe('function')
    expect(session.Store).toBe(Store)
    expect(session.MemoryStore).toBe(MemoryStore)
    expect(session.Session).toBe(Session)
    expect(session.Cookie).toBe(Cookie)
  })

  it('MemoryStore is a sessionkit store (deltas, principal index), not a callback store', () => {
    const store = new session.MemoryStore()
    expect(isSessionStore(store)).toBe(true)
    expect(store.capabilities.principalIndex).toBe(true)
  })

  it('the middleware exposes the repository', () => {
    const mw = session({ secret: SECRET, resave: false, saveUninitialized: false })
    expect(typeof mw.repository.destroyAllFor).toBe('function')
  })
})
