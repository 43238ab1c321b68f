/**
 * The patterns of express-session's README and of the apps written from it, each in a small
 * app, run on the real express-session and on ours (default store and a sessionkit Redis
 * store): the view counter, login with regenerate + save before redirect, logout with destroy,
 * "remember me" through cookie.maxAge, cookie.expires = false, touch(), rolling, proxies,
 * unset: 'destroy', the usual production options, and the callback form of every method.
 */
import express from 'express'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { idOf, implementations, type SessionFactory, sessionCookie, setCookieLine } from './support'

const DAY = 86_400_000
const expiresOf = (line: string | undefined) => {
  const match = line ? /Expires=([^;]+)/.exec(line) : null
  return match ? Date.parse(match[1]!) : undefined
}

function viewCounter(session: SessionFactory) {
  const app = express()
  app.use(
    session({ secret: 'keyboard cat', resave: false, saveUninitialized: true, cookie: { maxAge: 60_000 } }),
  )
  // express-session's README, verbatim
  app.get('/', (req, res) => {
    const s = req.session as any
    if (s.views) {
      s.views++
      res.setHeader('Content-Type', 'text/html')
      res.write(`<p>views: ${s.views}</p>`)
      res.write(`<p>expires in: ${s.cookie.maxAge / 1000}s</p>`)
      res.end()
    } else {
      s.views = 1
      res.end('welcome to the session demo. refresh!')
    }
  })
  return app
}

function loginApp(session: SessionFactory) {
  const app = express()
  app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: false }))
  const isAuthenticated = (req: any, _res: any, next: any) => {
    if (req.session.user) next()
    else next('route')
  }
  // express-session's README "User login" example
  app.get('/', isAuthenticated, (req, res) => {
    res.send(`hello, ${(req.session as any).user}!`)
  })
  app.get('/', (_req, res) => {
    res.send('<form action="/login" method="post">')
  })
  app.post('/login', express.urlencoded({ extended: false }), (req, res, next) => {
    req.session.regenerate((err) => {
      if (err) return next(err)
      ;(req.session as any).user = req.body.user
      if (req.body.remember) req.session.cookie.maxAge = 30 * DAY
      else req.session.cookie.expires = false as any
      req.session.save((err) => {
        if (err) return next(err)
        res.redirect('/')
      })
    })
  })
  app.get('/logout', (req, res, next) => {
    ;(req.session as any).user = null
    req.session.save((err) => {
      if (err) return next(err)
      req.session.regenerate((err) => {
        if (err) return next(err)
        res.redirect('/')
      })
    })
  })
  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err)
      res.clearCookie('connect.sid').redirect('/')
    })
  })
  app.get('/cookie', (req, res) => {
    res.json({ originalMaxAge: req.session.cookie.originalMaxAge, maxAge: req.session.cookie.maxAge })
  })
  return app
}

function methodsApp(session: SessionFactory, options: object = {}) {
  const app = express()
  app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, ...options }))
  app.post('/set', (req, res) => {
    ;(req.session as any).value = req.query.v
    res.send('ok')
  })
  app.get('/get', (req, res) => {
    res.json({ value: (req.session as any).value ?? null, id: req.session.id, sessionID: req.sessionID })
  })
  // each method's callback form calls back once done
  app.post('/reload', (req, res, next) => {
    ;(req.session as any).value = 'changed locally'
    req.session.reload((err) => {
      if (err) return next(err)
      res.json({ value: (req.session as any).value })
    })
  })
  app.post('/save-then-change', (req, res, next) => {
    ;(req.session as any).value = 'saved'
    // express-session's middleware wraps save and reload: they return nothing there
    req.session.save((err) => {
      if (err) return next(err)
      res.send('saved')
    })
  })
  app.post('/regenerate', (req, res, next) => {
    const session = req.session
    const returned = session.regenerate((err) => {
      if (err) return next(err)
      res.json({
        chained: returned === session,
        value: (req.session as any).value ?? null,
        id: req.sessionID,
      })
    })
  })
  app.post('/destroy', (req, res, next) => {
    const session = req.session
    const returned = session.destroy((err) => {
      if (err) return next(err)
      res.json({ chained: returned === session, session: req.session === undefined ? 'gone' : 'present' })
    })
  })
  app.post('/unset', (req, res) => {
    ;(req as any).session = null
    res.send('unset')
  })
  app.get('/touch', (req, res) => {
    const s = req.session
    s.cookie.expires = new Date(Date.now() + 10_000) // moves expires and originalMaxAge
    s.cookie.originalMaxAge = 60_000 // as if loaded with a 60 s lifetime and 10 s left
    const before = s.cookie.maxAge!
    const returned = s.touch()
    res.json({ before, after: s.cookie.maxAge, chained: returned === s })
  })
  app.get('/plain', (_req, res) => {
    res.send('plain')
  })
  return app
}

function secureApp(session: SessionFactory, mode: 'trust proxy' | 'proxy option') {
  const app = express()
  if (mode === 'trust proxy') app.set('trust proxy', 1)
  app.use(
    session({
      secret: 'keyboard cat',
      resave: false,
      saveUninitialized: true,
      ...(mode === 'proxy option' ? { proxy: true } : {}),
      cookie: { secure: true },
    }),
  )
  app.get('/', (req, res) => {
    const s = req.session as any
    s.views = (s.views ?? 0) + 1
    res.json({ views: s.views, secure: req.secure })
  })
  return app
}

const impls = implementations()
beforeAll(() => impls.start())
afterAll(() => impls.stop())

describe.each(impls.list)('classic express-session apps on %s', (_name, session) => {
  it('the README view counter counts per visitor, streamed with res.write', async () => {
    const app = viewCounter(session)
    const agent = request.agent(app)
    const first = await agent.get('/')
    expect(first.text).toBe('welcome to the session demo. refresh!')
    expect(setCookieLine(first)).toMatch(/; Expires=.*; HttpOnly$/)
    expect((await agent.get('/')).text).toMatch(/^<p>views: 2<\/p><p>expires in: (59\.\d+|60)s<\/p>$/)
    expect((await agent.get('/')).text).toContain('<p>views: 3</p>')
    expect((await request(app).get('/')).text).toBe('welcome to the session demo. refresh!')
  })

  it('login: regenerate, save before the redirect, the next request is logged in under a new id', async () => {
    const app = loginApp(session)
    const agent = request.agent(app)
    expect((await agent.get('/')).text).toBe('<form action="/login" method="post">')
    const login = await agent.post('/login').type('form').send({ user: 'alice' })
    expect(login.status).toBe(302)
    expect(login.headers.location).toBe('/')
    expect((await agent.get('/')).text).toBe('hello, alice!')

    // README logout: user = null, save, regenerate: the old id no longer knows alice
    const loggedIn = sessionCookie(login)!
    const logout = await agent.get('/logout')
    expect(logout.status).toBe(302)
    expect((await agent.get('/')).text).toBe('<form action="/login" method="post">')
    expect((await request(app).get('/').set('Cookie', loggedIn)).text).toBe(
      '<form action="/login" method="post">',
    )
  })

  it('logout with destroy: the cookie is cleared and the session is gone for good', async () => {
    const app = loginApp(session)
    const agent = request.agent(app)
    const login = await agent.post('/login').type('form').send({ user: 'bob' })
    const cookie = sessionCookie(login)!
    const logout = await agent.post('/logout')
    expect(logout.status).toBe(302)
    expect(setCookieLine(logout)).toMatch(/^connect\.sid=; Path=\/; Expires=Thu, 01 Jan 1970/)
    expect((await request(app).get('/').set('Cookie', cookie)).text).toBe(
      '<form action="/login" method="post">',
    )
  })

  it('"remember me": a persistent cookie for one user, a browser-session cookie for another', async () => {
    const app = loginApp(session)
    const remembered = await request(app).post('/login').type('form').send({ user: 'carol', remember: '1' })
    const forgotten = await request(app).post('/login').type('form').send({ user: 'dave' })
    const expires = expiresOf(setCookieLine(remembered))!
    expect(Math.abs(expires - (Date.now() + 30 * DAY))).toBeLessThan(5000)
    expect(setCookieLine(forgotten)).toBeDefined()
    expect(setCookieLine(forgotten)).not.toContain('Expires=')
    // both are logged in, and each keeps its lifetime on the next request
    const rememberedCookie = sessionCookie(remembered)!
    const forgottenCookie = sessionCookie(forgotten)!
    expect((await request(app).get('/').set('Cookie', rememberedCookie)).text).toBe('hello, carol!')
    expect((await request(app).get('/').set('Cookie', forgottenCookie)).text).toBe('hello, dave!')
    const carol = await request(app).get('/cookie').set('Cookie', rememberedCookie)
    // express-session re-reads the remaining time for originalMaxAge: a millisecond may be gone
    expect(carol.body.originalMaxAge).toBeGreaterThan(30 * DAY - 50)
    expect(carol.body.originalMaxAge).toBeLessThanOrEqual(30 * DAY)
    expect(carol.body.maxAge).toBeGreaterThan(30 * DAY - 5000)
    const dave = await request(app).get('/cookie').set('Cookie', forgottenCookie)
    expect(dave.body.maxAge === null || dave.body.maxAge === false).toBe(true)
  })

  it('saveUninitialized: false + resave: false: no cookie until data is set, then one cookie', async () => {
    const app = methodsApp(session)
    const plain = await request(app).get('/plain')
    expect(sessionCookie(plain)).toBeUndefined()
    const agent = request.agent(app)
    const set = await agent.post('/set?v=1')
    expect(sessionCookie(set)).toBeDefined()
    const read = await agent.get('/get')
    expect(read.body).toEqual({
      value: '1',
      id: idOf(sessionCookie(set)),
      sessionID: idOf(sessionCookie(set)),
    })
    // unchanged session, browser-session cookie, not rolling: no Set-Cookie again
    expect(sessionCookie(read)).toBeUndefined()
  })

  it('save(cb) and reload(cb): reload throws away local changes and returns the session', async () => {
    const app = methodsApp(session)
    const agent = request.agent(app)
    expect((await agent.post('/save-then-change')).text).toBe('saved')
    expect((await agent.get('/get')).body.value).toBe('saved')
    expect((await agent.post('/reload')).body).toEqual({ value: 'saved' })
    expect((await agent.get('/get')).body.value).toBe('saved')
  })

  it('regenerate(cb): a new id and empty data; destroy(cb): req.session removed, store record gone', async () => {
    const app = methodsApp(session)
    const agent = request.agent(app)
    const set = await agent.post('/set?v=x')
    const oldId = idOf(sessionCookie(set))
    const regen = await agent.post('/regenerate')
    expect(regen.body.chained).toBe(true)
    expect(regen.body.value).toBeNull()
    expect(regen.body.id).not.toBe(oldId)
    // the old session is gone; the new one (a new id counts as a change) carries the cookie
    expect((await request(app).get('/get').set('Cookie', sessionCookie(set)!)).body.value).toBeNull()
    const cookie = sessionCookie(regen)!
    expect(idOf(cookie)).toBe(regen.body.id)
    await agent.post('/set?v=y').expect(200)
    expect((await request(app).get('/get').set('Cookie', cookie)).body.value).toBe('y')
    const destroyed = await agent.post('/destroy')
    expect(destroyed.body).toEqual({ chained: true, session: 'gone' })
    expect(sessionCookie(destroyed)).toBeUndefined()
    expect((await request(app).get('/get').set('Cookie', cookie)).body.value).toBeNull()
  })

  it("unset: 'destroy' deletes the stored session on req.session = null; 'keep' keeps it", async () => {
    for (const [unset, after] of [
      ['destroy', null],
      ['keep', 'kept'],
    ] as const) {
      const app = methodsApp(session, { unset })
      const cookie = sessionCookie(await request(app).post('/set?v=kept'))!
      const res = await request(app).post('/unset').set('Cookie', cookie)
      expect(res.text).toBe('unset')
      expect(sessionCookie(res)).toBeUndefined()
      expect((await request(app).get('/get').set('Cookie', cookie)).body.value).toBe(after)
    }
  })

  it('touch() resets maxAge to originalMaxAge and returns the session', async () => {
    const app = methodsApp(session)
    const agent = request.agent(app)
    await agent.post('/set?v=1')
    const res = await agent.get('/touch')
    expect(res.body.chained).toBe(true)
    expect(res.body.before).toBeLessThanOrEqual(10_000)
    expect(res.body.after).toBeGreaterThan(59_000)
    expect(res.body.after).toBeLessThanOrEqual(60_000)
  })

  it('rolling: true re-sends the cookie with a fresh Expires on every response, unmodified too', async () => {
    const app = methodsApp(session, { rolling: true, cookie: { maxAge: 60_000 } })
    const agent = request.agent(app)
    const created = await agent.post('/set?v=1')
    const first = expiresOf(setCookieLine(created))!
    const read = await agent.get('/get')
    const line = setCookieLine(read)
    expect(sessionCookie(read)).toBe(sessionCookie(created))
    expect(expiresOf(line)).toBeGreaterThanOrEqual(first)
    expect(expiresOf(line)! - Date.now()).toBeGreaterThan(55_000)
    // not rolling: an unmodified request gets no cookie
    const still = methodsApp(session, { cookie: { maxAge: 60_000 } })
    const cookie = sessionCookie(await request(still).post('/set?v=1'))!
    expect(setCookieLine(await request(still).get('/get').set('Cookie', cookie))).toBeUndefined()
  })

  it.each(['trust proxy', 'proxy option'] as const)(
    'cookie.secure behind a TLS-terminating proxy (%s): Secure cookie only for X-Forwarded-Proto: https',
    async (mode) => {
      const app = secureApp(session, mode)
      const plain = await request(app).get('/')
      expect(plain.status).toBe(200)
      expect(setCookieLine(plain)).toBeUndefined() // never a Secure cookie over plain HTTP
      const https = await request(app).get('/').set('X-Forwarded-Proto', 'https')
      const line = setCookieLine(https)!
      expect(line).toMatch(/; HttpOnly; Secure$/)
      const next = await request(app)
        .get('/')
        .set('X-Forwarded-Proto', 'https')
        .set('Cookie', line.split(';')[0]!)
      expect(next.body).toEqual({ views: 2, secure: mode === 'trust proxy' })
    },
  )
})
