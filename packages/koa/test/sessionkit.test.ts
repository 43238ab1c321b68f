import { createHmac } from 'node:crypto'
import { isSessionError, SessionError, type SessionStore } from '@sessionkit/core'
import { MemoryStore } from '@sessionkit/memory'
import { RedisStore } from '@sessionkit/redis'
import { startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import Koa from 'koa'
import request from 'supertest'
import { afterAll, describe, expect, it, vi } from 'vitest'
import session, { type SessionOptions } from '../src/index'
import { peer } from './harness'

const server = await startRedis()
const client = new Redis(server.url)
const stores: { close?: () => Promise<void> }[] = []
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close?.()))
  client.disconnect()
  await server.stop()
})

let namespace = 0
const backends: [string, () => SessionStore][] = [
  [
    'memory',
    () => {
      const store = new MemoryStore()
      stores.push(store)
      return store
    },
  ],
  ['redis', () => new RedisStore({ client, prefix: `koa-test-${++namespace}:` })],
]

/** Holds a request after its session loaded: `arrived` tells it is there, `open` lets it go on. */
function gate() {
  let open!: () => void
  let arrive!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  const arrived = new Promise<void>((resolve) => {
    arrive = resolve
  })
  return { promise, open, arrived, arrive }
}

const cookiesOf = (res: request.Response) =>
  ((res.headers['set-cookie'] as unknown as string[] | undefined) ?? []).map((c) => c.split(';')[0]!)

/** A client that keeps the cookies it is sent. */
function agent(app: Koa) {
  const jar = new Map<string, string>()
  const server = app.callback()
  return {
    jar,
    async get(path: string) {
      const req = request(server).get(path)
      if (jar.size) req.set('Cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '))
      const res = await req
      for (const pair of cookiesOf(res)) {
        const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]
        if (value) jar.set(name, value)
        else jar.delete(name)
      }
      return res
    },
  }
}

const gates = new Map<string, ReturnType<typeof gate>>()

function makeApp(store: SessionStore, options: SessionOptions = {}) {
  const app = new Koa()
  app.keys = ['key a', 'key b']
  app.silent = true
  const middleware = session({ ...options, store }, app)
  app.use(middleware)
  app.use(async (ctx) => {
    const s = ctx.session as Record<string, any> & typeof ctx.session
    const q = ctx.query as Record<string, string>
    if (q.wait) {
      gates.get(q.wait)!.arrive()
      await gates.get(q.wait)!.promise
    }
    switch (ctx.path) {
      case '/login':
        await s.changeId()
        s.user = q.user
        s.setPrincipal(q.user)
        break
      case '/set':
        s[q.k!] = q.v
        break
      case '/logout':
        ctx.session = null
        ctx.body = 'bye'
        return
      case '/revoke':
        ctx.body = { revoked: await s.revokeAll({ exceptCurrent: q.except === '1' }) }
        return
    }
    ctx.body = { data: s.toJSON(), key: s.externalKey ?? null, principal: s.getPrincipal() ?? null }
  })
  return Object.assign(app, { sessionMiddleware: middleware })
}

describe.each(backends)('store mode on sessionkit (%s)', (_name, newStore) => {
  it('changeId at login: new key, same data, the old key stops working', async () => {
    const app = makeApp(newStore())
    const a = agent(app)
    await a.get('/set?k=cart&v=apple')
    const before = a.jar.get('koa.sess')!
    const login = await a.get('/login?user=alice')
    const after = a.jar.get('koa.sess')!
    expect(after).not.toBe(before)
    expect(login.body).toMatchObject({
      data: { cart: 'apple', user: 'alice' },
      key: after,
      principal: 'alice',
    })
    const stale = await request(app.callback()).get('/').set('Cookie', `koa.sess=${before}; koa.sess.sig=x`)
    expect(stale.body.data).toEqual({})
    expect((await a.get('/')).body).toMatchObject({
      data: { cart: 'apple', user: 'alice' },
      principal: 'alice',
    })
  })

  it('revokeAll: log a user out everywhere, optionally except this device', async () => {
    const app = makeApp(newStore())
    const [phone, laptop, tablet] = [agent(app), agent(app), agent(app)]
    for (const device of [phone, laptop, tablet]) await device.get('/login?user=bob')
    expect((await laptop.get('/revoke?except=1')).body).toEqual({ revoked: 2 })
    expect((await laptop.get('/')).body.data).toEqual({ user: 'bob' })
    expect((await phone.get('/')).body.data).toEqual({})
    expect((await tablet.get('/')).body.data).toEqual({})
    expect(await app.sessionMiddleware.repository!.destroyAllFor('bob')).toBe(1)
    expect((await laptop.get('/')).body.data).toEqual({})
  })

  it('two overlapping requests changing different attributes both persist', async () => {
    const app = makeApp(newStore())
    const a = agent(app)
    await a.get('/set?k=start&v=1')
    gates.set('slow-a', gate())
    const slow = a.get('/set?k=theme&v=dark&wait=slow-a')
    await gates.get('slow-a')!.arrived
    await a.get('/set?k=lang&v=fr')
    gates.get('slow-a')!.open()
    await slow
    expect((await a.get('/')).body.data).toEqual({ start: '1', theme: 'dark', lang: 'fr' })
  })

  it('a logout is not undone by a slower request of the same session', async () => {
    const app = makeApp(newStore())
    const a = agent(app)
    await a.get('/set?k=user&v=carol')
    const cookie = [...a.jar].map(([k, v]) => `${k}=${v}`).join('; ')
    gates.set('slow-b', gate())
    const slow = request(app.callback())
      .get('/set?k=late&v=1&wait=slow-b')
      .set('Cookie', cookie)
      .then((res) => res)
    await gates.get('slow-b')!.arrived
    await a.get('/logout')
    gates.get('slow-b')!.open()
    const late = await slow
    expect(late.headers['set-cookie']).toBeUndefined()
    const after = await request(app.callback()).get('/').set('Cookie', cookie)
    expect(after.body.data).toEqual({})
  })

  it('a store that is down reaches Koa error handling (503), no silent new session', async () => {
    const store = newStore()
    let down = false
    const flaky = new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver)
        if (typeof value !== 'function' || !down) return value
        return () => Promise.reject(new SessionError('STORE_UNAVAILABLE', 'store is down'))
      },
    })
    const app = makeApp(flaky)
    const a = agent(app)
    await a.get('/set?k=user&v=dan')
    down = true
    const res = await a.get('/')
    expect(res.status).toBe(503)
    expect(res.headers['set-cookie']).toBeUndefined()
    down = false
    expect((await a.get('/')).body.data).toEqual({ user: 'dan' })
  })

  it('absoluteTimeout ends an active session', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const app = makeApp(newStore(), { rolling: true, maxAge: 60_000, absoluteTimeout: 100_000 })
      const a = agent(app)
      await a.get('/set?k=user&v=eve')
      for (let i = 0; i < 3; i++) {
        vi.setSystemTime(Date.now() + 30_000)
        expect((await a.get('/')).body.data).toEqual({ user: 'eve' })
      }
      vi.setSystemTime(Date.now() + 30_000)
      expect((await a.get('/')).body.data).toEqual({})
    } finally {
      vi.useRealTimers()
    }
  })

  it('moving from cookie mode: a koa-session cookie is read, and its first write moves it into the store', async () => {
    const cookieApp = new Koa()
    cookieApp.keys = ['key a']
    cookieApp.use(peer({ maxAge: 60_000 }, cookieApp))
    cookieApp.use((ctx) => {
      ctx.session!.user = 'frank'
      ctx.body = 'ok'
    })
    const legacy = cookiesOf(await request(cookieApp.callback()).get('/')).join('; ')
    const app = makeApp(newStore(), { maxAge: 60_000 })
    const a = agent(app)
    for (const pair of legacy.split('; ')) a.jar.set(pair.split('=')[0]!, pair.slice(pair.indexOf('=') + 1))
    // A read leaves it in the cookie, as koa-session would (no Set-Cookie).
    const first = await a.get('/')
    expect(first.body.data).toEqual({ user: 'frank' })
    expect(first.headers['set-cookie']).toBeUndefined()
    const moved = await a.get('/set?k=more&v=1')
    expect(moved.body.data).toEqual({ user: 'frank', more: '1' })
    expect(a.jar.get('koa.sess')).toMatch(/^[0-9a-f-]{36}$/)
    expect(a.jar.get('koa.sess')).toBe(moved.body.key)
    expect((await a.get('/')).body.data).toEqual({ user: 'frank', more: '1' })
  })

  it("cookieFormat 'express': express-session's signed cookie, secrets rotate", async () => {
    const secrets = ['new secret', 'old secret']
    const app = makeApp(newStore(), { key: 'connect.sid', cookieFormat: 'express', secret: secrets })
    const a = agent(app)
    const res = await a.get('/set?k=user&v=grace')
    const line = (res.headers['set-cookie'] as unknown as string[])[0]!
    expect(line).toMatch(/^connect\.sid=s%3A[^;]+; path=\/; httponly$/)
    const value = decodeURIComponent(a.jar.get('connect.sid')!)
    const id = value.slice(2, value.lastIndexOf('.'))
    const mac = (secret: string) =>
      createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '')
    expect(value).toBe(`s:${id}.${mac('new secret')}`)
    const oldSigned = encodeURIComponent(`s:${id}.${mac('old secret')}`)
    const read = await request(app.callback()).get('/').set('Cookie', `connect.sid=${oldSigned}`)
    expect(read.body.data).toEqual({ user: 'grace' })
    // Re-signed with the first secret, as koa-session re-signs its keygrip cookies.
    const resent = (read.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]
    expect(resent).toBe(`connect.sid=${encodeURIComponent(`s:${id}.${mac('new secret')}`)}`)
    const forged = await request(app.callback()).get('/').set('Cookie', `connect.sid=s%3A${id}.AAAA`)
    expect(forged.body.data).toEqual({})
  })

  it('bad genid output is a clear error', async () => {
    const app = makeApp(newStore(), { genid: () => 'has space' })
    let error: unknown
    app.on('error', (err) => {
      error = err
    })
    const res = await agent(app).get('/set?k=a&v=1')
    expect(res.status).toBe(500)
    expect(isSessionError(error, 'INVALID_ID')).toBe(true)
  })
})

describe('errors', () => {
  it('sessionkit members without a sessionkit store say so', async () => {
    const app = new Koa()
    app.keys = ['k']
    app.use(session(app))
    let caught: unknown
    app.use((ctx) => {
      try {
        ctx.session.setPrincipal('x')
      } catch (err) {
        caught = err
      }
      ctx.body = 'ok'
    })
    await request(app.callback()).get('/')
    expect(isSessionError(caught, 'NOT_SUPPORTED')).toBe(true)
  })
})

describe('store calls against koa-session with a store, side by side', () => {
  it("a sessionkit store gets a write exactly where koa-session's store gets a `set`, and a read where it gets a `get`", async () => {
    const theirs: string[] = []
    const external = new Map<string, unknown>()
    const peerStore = {
      async get(key: string) {
        theirs.push('read')
        return external.get(key)
      },
      async set(key: string, value: unknown) {
        theirs.push('write')
        external.set(key, value)
      },
      async destroy(key: string) {
        theirs.push('delete')
        external.delete(key)
      },
    }
    const mine: string[] = []
    const store = new MemoryStore()
    const record = (name: 'load' | 'save' | 'touch' | 'delete', as: string) => {
      const original = store[name].bind(store) as (...args: unknown[]) => unknown
      ;(store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        mine.push(as)
        return original(...args)
      }
    }
    record('load', 'read')
    record('save', 'write')
    record('touch', 'write')
    record('delete', 'delete')
    const steps = ['/inc', '/get', '/get', '/inc', '/get', '/bad-sig', '/null']
    for (const [impl, options, calls] of [
      [peer, { store: peerStore }, theirs],
      [session, { store }, mine],
    ] as const) {
      const app = new Koa()
      app.keys = ['k1']
      app.use(impl(options as never, app))
      app.use((ctx) => {
        const s = ctx.session as Record<string, any>
        if (ctx.path === '/inc') s.views = (s.views ?? 0) + 1
        if (ctx.path === '/null') ctx.session = null
        ctx.body = String(s?.views)
      })
      let cookie = ''
      const bodies: string[] = []
      for (const path of steps) {
        const sent = path === '/bad-sig' ? cookie.replace(/sig=[^;]+/, 'sig=AAAA') : cookie
        const res = await request(app.callback()).get(path).set('Cookie', sent)
        bodies.push(res.text)
        const set = (res.headers['set-cookie'] as unknown as string[] | undefined) ?? []
        if (set.length && !set[0]!.includes('1970')) cookie = set.map((c) => c.split(';')[0]).join('; ')
      }
      calls.push(`bodies ${bodies.join(',')}`)
    }
    expect(mine).toEqual(theirs)
  })
})
