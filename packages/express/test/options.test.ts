import { afterEach, describe, expect, it, vi } from 'vitest'
import session, { MemoryStore } from '../src/index'
import { makeApp, request, SECRET, sessionCookie, setCookieLine } from './helpers'

const touchRoute = (app: any) => {
  app.get('/set', (req: any, res: any) => {
    req.session.x = 1
    res.json({ maxAge: req.session.cookie.maxAge, original: req.session.cookie.originalMaxAge })
  })
  app.get('/get', (req: any, res: any) => res.json({ x: req.session?.x ?? null, has: req.session != null }))
}
const idOf = (cookie: string) => decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!
const tick = () => {
  const t = Date.now()
  while (Date.now() <= t + 1) {
    /* let the clock move 2 ms */
  }
}

function captureWarnings() {
  const seen: { name: string; message: string }[] = []
  const listener = (w: Error) => seen.push({ name: w.name, message: w.message })
  process.on('warning', listener)
  return {
    seen,
    async settle() {
      await new Promise((r) => setImmediate(r)) // emitWarning is delivered on next tick
      process.off('warning', listener)
      return seen
    },
  }
}

describe('cookie option', () => {
  it('maxAge sets Expires and counts down on req.session.cookie', async () => {
    const app = makeApp({ cookie: { maxAge: 60_000 } }, touchRoute)
    const res = await request(app).get('/set')
    expect(res.body.original).toBe(60_000)
    expect(res.body.maxAge).toBeLessThanOrEqual(60_000)
    expect(res.body.maxAge).toBeGreaterThan(59_000)
    const expires = /Expires=([^;]+)/.exec(setCookieLine(res)!)![1]!
    expect(Math.abs(new Date(expires).getTime() - (Date.now() + 60_000))).toBeLessThan(2_000)
  })

  it('expires (a Date) is sent as Expires', async () => {
    const when = new Date(Date.now() + 3_600_000)
    const app = makeApp({ cookie: { expires: when } }, touchRoute)
    const line = setCookieLine(await request(app).get('/set'))!
    expect(new Date(/Expires=([^;]+)/.exec(line)![1]!).getTime()).toBeGreaterThan(Date.now() + 3_590_000)
  })

  it('httpOnly false, domain, path, partitioned and priority appear as the peer writes them', async () => {
    const app = makeApp(
      {
        cookie: {
          httpOnly: false,
          domain: 'example.com',
          path: '/app',
          partitioned: true,
          priority: 'high',
          secure: false,
        },
      },
      (app) =>
        app.get('/app/set', (req: any, res) => {
          req.session.x = 1
          res.send('ok')
        }),
    )
    const line = setCookieLine(await request(app).get('/app/set'))!
    expect(line).toMatch(
      /^connect\.sid=s%3A[^;]+; Domain=example\.com; Path=\/app; Partitioned; Priority=High$/,
    )
  })

  it('path: requests outside the cookie path get no session at all', async () => {
    const app = makeApp({ cookie: { path: '/app' } }, (app) => {
      app.get('/other', (req, res) => res.json({ has: req.session !== undefined }))
    })
    const res = await request(app).get('/other')
    expect(res.body.has).toBe(false)
    expect(sessionCookie(res)).toBeUndefined()
  })

  it('secure: true sends no cookie over HTTP, and a Secure one over HTTPS (proxy: true)', async () => {
    const app = makeApp({ cookie: { secure: true }, proxy: true }, touchRoute)
    expect(sessionCookie(await request(app).get('/set'))).toBeUndefined()
    const https = await request(app).get('/set').set('X-Forwarded-Proto', 'https')
    expect(setCookieLine(https)).toMatch(/; HttpOnly; Secure$/)
  })

  it("secure: 'auto' and sameSite: 'auto' follow the request's protocol", async () => {
    const app = makeApp({ cookie: { secure: 'auto', sameSite: 'auto' }, proxy: true }, touchRoute)
    expect(setCookieLine(await request(app).get('/set'))).toMatch(/; HttpOnly; SameSite=Lax$/)
    const https = await request(app).get('/set').set('X-Forwarded-Proto', 'https')
    expect(setCookieLine(https)).toMatch(/; HttpOnly; Secure; SameSite=None$/)
  })

  it.each([
    [true, 'Strict'],
    ['strict', 'Strict'],
    ['lax', 'Lax'],
    ['none', 'None'],
  ] as const)('sameSite %s gives SameSite=%s', async (sameSite, out) => {
    const app = makeApp({ cookie: { sameSite } }, touchRoute)
    expect(setCookieLine(await request(app).get('/set'))).toMatch(new RegExp(`; SameSite=${out}$`))
  })

  it('may be a function of the request', async () => {
    const app = makeApp(
      { cookie: (req: any) => ({ maxAge: req.headers['x-remember'] ? 86_400_000 : null }) },
      touchRoute,
    )
    expect(setCookieLine(await request(app).get('/set'))).not.toMatch(/Expires/)
    expect(setCookieLine(await request(app).get('/set').set('X-Remember', '1'))).toMatch(/Expires/)
  })
})

describe('genid, name, key', () => {
  it('a genid id that is already taken is replaced by the next genid id, and the cookie names it', async () => {
    const ids = ['taken', 'taken', 'free']
    const app = makeApp({ genid: () => ids.shift() ?? 'spare' }, (a) => {
      a.post('/login/:user', (req, res) => {
        req.session.user = req.params.user
        res.send('ok')
      })
      a.get('/who', (req, res) => {
        res.send(req.session.user ?? 'nobody')
      })
    })
    const bob = sessionCookie(await request(app).post('/login/bob'))!
    expect(idOf(bob)).toBe('taken')
    const alice = sessionCookie(await request(app).post('/login/alice'))!
    expect(idOf(alice)).toBe('free') // from genid, never the default generator
    expect((await request(app).get('/who').set('Cookie', alice)).text).toBe('alice')
    expect((await request(app).get('/who').set('Cookie', bob)).text).toBe('bob') // not overwritten
  })

  it('a genid that keeps answering a taken id fails the request with ID_COLLISION, the owner keeps it', async () => {
    const app = makeApp({ genid: () => 'the-same-id-every-time' }, (a) => {
      a.post('/login/:user', (req, res) => {
        req.session.user = req.params.user
        res.send('ok')
      })
      a.get('/who', (req, res) => {
        res.send(req.session.user ?? 'nobody')
      })
    })
    const bob = sessionCookie(await request(app).post('/login/bob'))!
    const alice = await request(app).post('/login/alice')
    expect(alice.status).toBe(500)
    expect(alice.text).toMatch(/^error: three new session ids in a row already existed/)
    expect(sessionCookie(alice)).toBeUndefined()
    expect((await request(app).get('/who').set('Cookie', bob)).text).toBe('bob')
  })

  it('genid makes the ids, and must be a function', async () => {
    let n = 0
    const app = makeApp({ genid: () => `custom-id-${++n}` }, touchRoute)
    const cookie = sessionCookie(await request(app).get('/set'))!
    expect(idOf(cookie)).toBe('custom-id-1')
    expect((await request(app).get('/get').set('Cookie', cookie)).body.x).toBe(1)
    expect(() => session({ secret: SECRET, genid: 'x' as any })).toThrow(TypeError)
    expect(() => session({ secret: SECRET, genid: 'x' as any })).toThrow('genid option must be a function')
  })

  it('name sets the cookie name; the legacy key works silently, as in express-session', async () => {
    const named = makeApp({ name: 'sid' }, touchRoute)
    expect(sessionCookie(await request(named).get('/set'), 'sid')).toBeDefined()
    const warnings = captureWarnings()
    const keyed = makeApp({ key: 'legacy.sid' }, touchRoute)
    expect(sessionCookie(await request(keyed).get('/set'), 'legacy.sid')).toBeDefined()
    expect(await warnings.settle()).toEqual([])
  })
})

describe('proxy', () => {
  it("unset: Express's req.secure decides (trust proxy setting)", async () => {
    const app = makeApp({ cookie: { secure: true } }, touchRoute, (app) => app.set('trust proxy', true))
    expect(sessionCookie(await request(app).get('/set').set('X-Forwarded-Proto', 'https'))).toBeDefined()
    const untrusting = makeApp({ cookie: { secure: true } }, touchRoute)
    expect(
      sessionCookie(await request(untrusting).get('/set').set('X-Forwarded-Proto', 'https')),
    ).toBeUndefined()
  })

  it('false: forwarded headers never count', async () => {
    const app = makeApp({ cookie: { secure: true }, proxy: false }, touchRoute, (app) =>
      app.set('trust proxy', true),
    )
    expect(sessionCookie(await request(app).get('/set').set('X-Forwarded-Proto', 'https'))).toBeUndefined()
  })
})

describe('resave, rolling, saveUninitialized, touchAfter', () => {
  async function lastAccessed(resave: boolean, extra: object = {}) {
    const app = makeApp({ resave, ...extra }, touchRoute)
    const cookie = sessionCookie(await request(app).get('/set'))!
    const before = (await app.middleware.repository.load(idOf(cookie)))!.lastAccessedAt
    tick()
    await request(app).get('/get').set('Cookie', cookie)
    return { before, after: (await app.middleware.repository.load(idOf(cookie)))!.lastAccessedAt }
  }

  it('resave: true extends the expiry of an unmodified session on every request', async () => {
    const { before, after } = await lastAccessed(true)
    expect(after).toBeGreaterThan(before)
  })

  it('resave: false leaves an unmodified session alone until touchAfter is due', async () => {
    const { before, after } = await lastAccessed(false)
    expect(after).toBe(before)
  })

  it('touchAfter: 0 touches an unmodified session on every request (the peer store.touch cadence)', async () => {
    const { before, after } = await lastAccessed(false, { touchAfter: 0 })
    expect(after).toBeGreaterThan(before)
  })

  it('rolling sends the cookie on every response with a fresh expiry', async () => {
    const app = makeApp({ rolling: true, cookie: { maxAge: 60_000 } }, touchRoute)
    const cookie = sessionCookie(await request(app).get('/set'))!
    const again = await request(app).get('/get').set('Cookie', cookie)
    expect(sessionCookie(again)).toBe(cookie)
    expect(setCookieLine(again)).toMatch(/Expires=/)
    const quiet = makeApp({ cookie: { maxAge: 60_000 } }, touchRoute)
    const c2 = sessionCookie(await request(quiet).get('/set'))!
    expect(sessionCookie(await request(quiet).get('/get').set('Cookie', c2))).toBeUndefined()
  })

  it('saveUninitialized: true stores and cookies an untouched new session; false does neither', async () => {
    const eager = makeApp({ saveUninitialized: true }, touchRoute)
    const cookie = sessionCookie(await request(eager).get('/get'))!
    expect(await eager.middleware.repository.load(idOf(cookie))).toBeDefined()
    const lazy = makeApp({ saveUninitialized: false }, touchRoute)
    expect(sessionCookie(await request(lazy).get('/get'))).toBeUndefined()
  })

  it('an existing session gets a fresh cookie only when modified and the cookie has an expiry', async () => {
    const routes = (app: any) => {
      touchRoute(app)
      app.get('/bump', (req: any, res: any) => {
        req.session.x += 1
        res.send(String(req.session.x))
      })
    }
    const app = makeApp({ cookie: { maxAge: 60_000 } }, routes)
    const cookie = sessionCookie(await request(app).get('/set'))!
    expect(sessionCookie(await request(app).get('/set').set('Cookie', cookie))).toBeUndefined() // unmodified
    expect(sessionCookie(await request(app).get('/bump').set('Cookie', cookie))).toBe(cookie)
    const browser = makeApp({}, routes)
    const c2 = sessionCookie(await request(browser).get('/set'))!
    expect(sessionCookie(await request(browser).get('/bump').set('Cookie', c2))).toBeUndefined()
  })
})

describe('secret', () => {
  it('accepts a Buffer', async () => {
    const app = makeApp({ secret: Buffer.from('bytes secret') }, touchRoute)
    const cookie = sessionCookie(await request(app).get('/set'))!
    expect((await request(app).get('/get').set('Cookie', cookie)).body.x).toBe(1)
  })

  it('missing: the request fails with "secret option required for sessions"', async () => {
    const warnings = captureWarnings()
    const app = makeApp({ secret: undefined }, touchRoute)
    const res = await request(app).get('/set')
    expect(res.status).toBe(500)
    expect(res.text).toBe('error: secret option required for sessions')
    expect(await warnings.settle()).toContainEqual({
      name: 'DeprecationWarning',
      message: 'req.secret; provide secret option',
    })
  })

  it('falls back to req.secret (as cookie-parser sets it)', async () => {
    const app = makeApp({ secret: undefined }, touchRoute, (app) =>
      app.use((req: any, _res, next) => {
        req.secret = 'parser secret'
        next()
      }),
    )
    const cookie = sessionCookie(await request(app).get('/set'))!
    expect((await request(app).get('/get').set('Cookie', cookie)).body.x).toBe(1)
  })

  it('an empty array throws at construction', () => {
    expect(() => session({ secret: [] })).toThrow('secret option array must contain one or more strings')
  })
})

describe('unset', () => {
  const routes = (app: any) => {
    touchRoute(app)
    app.get('/unset', (req: any, res: any) => {
      req.session = null
      res.send('ok')
    })
  }
  it("'destroy' deletes the stored session when req.session is set to null", async () => {
    const app = makeApp({ unset: 'destroy' }, routes)
    const cookie = sessionCookie(await request(app).get('/set'))!
    await request(app).get('/unset').set('Cookie', cookie)
    expect(await app.middleware.repository.load(idOf(cookie))).toBeUndefined()
  })
  it("'keep' (default) keeps it", async () => {
    const app = makeApp({}, routes)
    const cookie = sessionCookie(await request(app).get('/set'))!
    await request(app).get('/unset').set('Cookie', cookie)
    expect(await app.middleware.repository.load(idOf(cookie))).toBeDefined()
  })
  it('anything else throws', () => {
    expect(() => session({ secret: SECRET, unset: 'x' as any })).toThrow(
      'unset option must be "destroy" or "keep"',
    )
  })
})

describe('absoluteTimeout', () => {
  it('ends an active session at its deadline, and caps the cookie', async () => {
    const app = makeApp({ absoluteTimeout: 300, rolling: true, cookie: { maxAge: 60_000 } }, touchRoute)
    const first = await request(app).get('/set')
    const cookie = sessionCookie(first)!
    const expires = new Date(/Expires=([^;]+)/.exec(setCookieLine(first)!)![1]!).getTime()
    expect(expires).toBeLessThanOrEqual(Date.now() + 1_000)
    expect((await request(app).get('/get').set('Cookie', cookie)).body.x).toBe(1)
    const deadline = Date.now() + 320
    while (Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect((await request(app).get('/get').set('Cookie', cookie)).body.x).toBeNull()
  })
})

describe('defaults and warnings', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
    vi.restoreAllMocks()
  })

  it('unset resave and saveUninitialized warn and default to true, as the peer does', async () => {
    const warnings = captureWarnings()
    const mw = session({ secret: SECRET })
    const seen = await warnings.settle()
    expect(seen).toContainEqual({
      name: 'DeprecationWarning',
      message: 'undefined resave option; provide resave option',
    })
    expect(seen).toContainEqual({
      name: 'DeprecationWarning',
      message: 'undefined saveUninitialized option; provide saveUninitialized option',
    })
    const express = (await import('express')).default
    const plain = express()
    plain.use(mw)
    plain.get('/', (_req, res) => res.send('x'))
    const res = await request(plain).get('/')
    const cookie = sessionCookie(res)!
    expect(cookie).toBeDefined() // saveUninitialized: true
    expect(await mw.repository.load(idOf(cookie))).toBeDefined()
  })

  it('warns under NODE_ENV=production when the in-process store is used', () => {
    vi.stubEnv('NODE_ENV', 'production')
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    session({ secret: SECRET, resave: false, saveUninitialized: false })
    expect(warn).toHaveBeenCalledTimes(1)
    expect(String(warn.mock.calls[0]![0])).toMatch(
      /MemoryStore is not\ndesigned for a production environment/,
    )
    session({
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      store: new (class extends MemoryStore {})(),
    })
    expect(warn).toHaveBeenCalledTimes(2)
  })
})
