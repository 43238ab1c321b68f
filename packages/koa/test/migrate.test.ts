import { SessionError } from '@sessionkit/core'
import { MemoryStore } from '@sessionkit/memory'
import Koa from 'koa'
import request from 'supertest'
import { afterAll, describe, expect, it } from 'vitest'
import ours, { SessionOptions } from '../src/index'
import { KEYS, makeApp, peer, routes } from './harness'

const stores: MemoryStore[] = []
afterAll(() => Promise.all(stores.map((s) => s.close())))
const memory = () => {
  const store = new MemoryStore()
  stores.push(store)
  return store
}

/** One browser: a cookie jar sent to whichever server the step names. */
class Browser {
  readonly jar = new Map<string, string>()
  cleared = 0

  /** `sent`: the cookies the browser held when it sent this request (a concurrent request). */
  async get(app: Koa, path: string, sent: Map<string, string> = this.jar) {
    const req = request(app.callback()).get(path)
    if (sent.size) req.set('Cookie', [...sent].map(([k, v]) => `${k}=${v}`).join('; '))
    const res = await req
    for (const line of (res.headers['set-cookie'] as unknown as string[] | undefined) ?? []) {
      const [pair, ...attrs] = line.split(';')
      const eq = pair!.indexOf('=')
      const expired = attrs.some((a) => /expires=thu, 01 jan 1970/i.test(a.trim()))
      if (expired || pair!.slice(eq + 1) === '') {
        this.cleared++
        this.jar.delete(pair!.slice(0, eq))
      } else this.jar.set(pair!.slice(0, eq), pair!.slice(eq + 1))
    }
    return res.body as { json?: { views?: number; user?: string }; session?: null }
  }

  /** The session's value in the cookie: cookie-mode data (base64 JSON) or a store key. */
  get holdsData(): boolean {
    return (this.jar.get('koa.sess') ?? '').startsWith('eyJ')
  }
}

/** Alternates `apps` round-robin: a login, then reads and increments; answers the views seen. */
async function roundRobin(apps: Koa[], browser: Browser, requests = 12) {
  await browser.get(apps[0]!, '/set?user=ada')
  const seen: (number | null)[] = []
  for (let i = 0; i < requests; i++) {
    const app = apps[(i + 1) % apps.length]!
    const body = await browser.get(app, i % 3 === 2 ? '/get' : '/inc')
    if (body.json?.user !== 'ada') seen.push(null)
    else seen.push(body.json.views ?? 0)
  }
  return { seen }
}

/** The views each of `requests` round-robin steps must show: every third step only reads. */
function increments(requests: number): number[] {
  let views = 0
  return Array.from({ length: requests }, (_, i) => (i % 3 === 2 ? views : ++views))
}

describe('migrate: koa-session cookie-mode servers and ours in one fleet', () => {
  it('with koa-session in cookie mode: every read and write seen on both sides, nothing in the store', async () => {
    const store = memory()
    const old = makeApp(peer, {})
    const mine = makeApp(ours, { store, migrate: true })
    const browser = new Browser()
    const { seen } = await roundRobin([old, mine], browser)
    expect(seen).toEqual(increments(12))
    expect(browser.cleared).toBe(0)
    expect(browser.holdsData).toBe(true)
    expect(store.size).toBe(0)
  })

  it('without migrate, the same fleet logs the user out (why the option exists)', async () => {
    const old = makeApp(peer, {})
    const mine = makeApp(ours, { store: memory() })
    const { seen } = await roundRobin([old, mine], new Browser())
    expect(seen).toContain(null)
  })

  it('a new session starts in the cookie, as koa-session servers read it', async () => {
    const store = memory()
    const mine = makeApp(ours, { store, migrate: true })
    const browser = new Browser()
    await browser.get(mine, '/set?user=ada')
    expect(browser.holdsData).toBe(true)
    expect((await browser.get(makeApp(peer, {}), '/get')).json?.user).toBe('ada')
    expect(store.size).toBe(0)
  })

  it('with servers past the switch (no migrate): a moved session is served from the store both ways', async () => {
    const store = memory()
    const migrating = makeApp(ours, { store, migrate: true })
    const finished = makeApp(ours, { store })
    const browser = new Browser()
    const { seen } = await roundRobin([migrating, finished], browser)
    expect(seen).toEqual(increments(12))
    expect(browser.cleared).toBe(0)
    expect(browser.holdsData).toBe(false)
    expect(store.size).toBe(1)
  })

  it('a read on a server past the switch leaves the cookie alone, so a concurrent write elsewhere is kept', async () => {
    const store = memory()
    const old = makeApp(peer, {})
    const finished = makeApp(ours, { store })
    const browser = new Browser()
    await browser.get(old, '/set?user=ada')
    // Two concurrent requests with the same cookies; the read's response arrives last.
    const sent = new Map(browser.jar)
    expect((await browser.get(old, '/inc', sent)).json?.views).toBe(1)
    expect((await browser.get(finished, '/get', sent)).json).toEqual({ user: 'ada' })
    expect((await browser.get(finished, '/get')).json).toEqual({ user: 'ada', views: 1 })
    expect(store.size).toBe(0)
  })

  it('rolled back from the switch: a stored session stays in the store, a logout there holds', async () => {
    const store = memory()
    const browser = new Browser()
    await browser.get(makeApp(ours, { store }), '/set?user=ada')
    const migrating = makeApp(ours, { store, migrate: true })
    expect((await browser.get(migrating, '/inc')).json).toMatchObject({ user: 'ada', views: 1 })
    expect(browser.holdsData).toBe(false)
    await browser.get(migrating, '/null')
    expect(store.size).toBe(0)
    expect((await browser.get(migrating, '/get')).json).toEqual({})
  })

  it('a store key no longer in the store: the new session starts in the cookie, the key is not data', async () => {
    const store = memory()
    const browser = new Browser()
    await browser.get(makeApp(ours, { store }), '/set?user=ada')
    const key = browser.jar.get('koa.sess')!
    await store.delete(key)
    const migrating = makeApp(ours, { store, migrate: true })
    expect((await browser.get(migrating, '/get')).json).toEqual({})
    expect((await browser.get(migrating, '/set?user=bob')).json).toEqual({ user: 'bob' })
    expect(browser.holdsData).toBe(true)
    expect(store.size).toBe(0)
    expect((await browser.get(makeApp(peer, {}), '/get')).json).toEqual({ user: 'bob' })
  })

  it("sessionkit's session features need the session in the store: NOT_SUPPORTED on a cookie session", async () => {
    const app = new Koa()
    app.keys = [...KEYS]
    app.silent = true
    app.use(ours({ store: memory(), migrate: true } as never, app))
    app.use(async (ctx) => {
      try {
        await (ctx.session as unknown as { changeId(): Promise<string> }).changeId()
        ctx.body = 'changed'
      } catch (err) {
        ctx.body = (err as SessionError).code
      }
    })
    const res = await request(app.callback()).get('/')
    expect(res.text).toBe('NOT_SUPPORTED')
  })

  it('only a cookie whose signature verified is data: forged or tampered values are no session', async () => {
    const mine = makeApp(ours, { store: memory(), migrate: true })
    const forged = Buffer.from(
      JSON.stringify({ user: 'admin', _expire: Date.now() + 3_600_000, _maxAge: 3_600_000 }),
    ).toString('base64')
    const noSig = new Browser()
    noSig.jar.set('koa.sess', forged)
    expect((await noSig.get(mine, '/get')).json).toEqual({})
    const genuine = new Browser()
    await genuine.get(makeApp(peer, {}), '/set?user=eve')
    genuine.jar.set('koa.sess', forged)
    expect((await genuine.get(mine, '/get')).json).toEqual({})
  })
})

describe('middleware.migration: where the sessions served lived', () => {
  function counted(options: object) {
    const app = new Koa()
    app.keys = [...KEYS]
    app.silent = true
    const middleware = ours(options as never, app)
    app.use(middleware)
    routes(app)
    return { app, counts: () => middleware.migration }
  }

  it('migrate: cookie-mode requests counted, store hits counted, nothing moved', async () => {
    const store = memory()
    const { app, counts } = counted({ store, migrate: true })
    const inCookie = new Browser()
    await inCookie.get(makeApp(peer, {}), '/set?user=ada')
    await inCookie.get(app, '/inc')
    await inCookie.get(app, '/get')
    const inStore = new Browser()
    await inStore.get(makeApp(ours, { store }), '/set?user=bob')
    await inStore.get(app, '/inc')
    await new Browser().get(app, '/get')
    expect(counts()).toEqual({ cookieSessions: 2, storeSessions: 1, moved: 0 })
  })

  it('finished: a cookie-mode session is moved by its first write, then served from the store', async () => {
    const { app, counts } = counted({ store: memory() })
    const browser = new Browser()
    await browser.get(makeApp(peer, {}), '/set?user=ada')
    await browser.get(app, '/get')
    await browser.get(app, '/inc')
    await browser.get(app, '/get')
    expect(counts()).toEqual({ cookieSessions: 2, storeSessions: 1, moved: 1 })
  })

  it('absent in cookie mode and with koa-session stores', () => {
    expect(counted({}).counts()).toBeUndefined()
  })
})

describe('migrate: options', () => {
  const refused = (options: object, message: RegExp) => {
    const app = makeApp(peer, {})
    let error: unknown
    try {
      ours(options as never, app)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(SessionError)
    expect((error as SessionError).code).toBe('INVALID_OPTIONS')
    expect((error as Error).message).toMatch(message)
  }

  it('needs a sessionkit store and the signed koa cookie', () => {
    refused({ migrate: true }, /sessionkit store/)
    refused({ migrate: true, store: memory(), signed: false }, /signed: true/)
    refused({ migrate: true, store: memory(), cookieFormat: 'express', secret: 'x'.repeat(32) }, /'koa'/)
    refused({ migrate: true, store: memory(), externalKey: { get: () => '', set: () => {} } }, /externalKey/)
    refused({ migrate: 'yes', store: memory() }, /Expected boolean/)
  })

  it('SessionOptions.parse keeps it', () => {
    expect(SessionOptions.parse({ migrate: true }).migrate).toBe(true)
  })
})
