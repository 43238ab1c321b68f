/**
 * A passport 0.7 + passport-local app written as passport's own docs show it, with only the
 * session middleware swapped. Passport drives the session API hard: `req.login` calls
 * `regenerate(cb)` then `save(cb)` (merging the old data back with `keepSessionInfo`),
 * `req.logout` calls `save(cb)` then `regenerate(cb)`, and `passport.session()` deserializes
 * the user from `req.session.passport` on every request.
 */
import express from 'express'
import passport from 'passport'
import { Strategy as LocalStrategy } from 'passport-local'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { idOf, implementations, type SessionFactory, sessionCookie } from './support'

interface User {
  id: string
  username: string
  password: string
}
const users: User[] = [
  { id: '1', username: 'alice', password: 'wonderland' },
  { id: '2', username: 'bob', password: 'builder' },
]

passport.use(
  new LocalStrategy((username, password, cb) => {
    const user = users.find((u) => u.username === username)
    if (!user || user.password !== password)
      return cb(null, false, { message: 'Incorrect username or password.' })
    return cb(null, user)
  }),
)
passport.serializeUser((user, cb) => {
  process.nextTick(() => cb(null, { id: (user as User).id }))
})
// Looks the user up on every request, so a renamed user shows the new name: proof that
// deserialization runs from the stored session, not from something cached.
passport.deserializeUser((stored: { id: string }, cb) => {
  process.nextTick(() => cb(null, users.find((u) => u.id === stored.id) ?? false))
})

function app(session: SessionFactory) {
  const app = express()
  app.use(express.urlencoded({ extended: false }))
  app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: false }))
  app.use(passport.session())

  app.get('/', (req, res) => {
    res.json({ user: req.isAuthenticated() ? (req.user as User).username : null })
  })
  // connect-ensure-login's pattern: remember where the user wanted to go.
  app.get('/private', (req, res) => {
    if (!req.isAuthenticated()) {
      ;(req.session as any).returnTo = req.originalUrl
      return res.redirect('/login')
    }
    res.send(`private page of ${(req.user as User).username}`)
  })
  app.post('/cart', (req, res) => {
    ;(req.session as any).cart = ['book']
    res.send('added')
  })
  app.get('/session', (req, res) => {
    const { cookie: _cookie, ...data } = req.session as any
    res.json(data)
  })
  app.get('/login', (req, res) => {
    res.json({ messages: (req.session as any).messages ?? [] })
  })
  app.post(
    '/login/password',
    passport.authenticate('local', {
      successReturnToOrRedirect: '/',
      failureRedirect: '/login',
      failureMessage: true,
      keepSessionInfo: true,
    }),
  )
  // Without keepSessionInfo: passport's default, where login drops the anonymous session's data.
  app.post(
    '/login/plain',
    passport.authenticate('local', { successRedirect: '/', failureRedirect: '/login' }),
  )
  app.post('/logout', (req, res, next) => {
    req.logout((err) => {
      if (err) return next(err)
      res.redirect('/')
    })
  })
  app.post('/logout/keep', (req, res, next) => {
    req.logout({ keepSessionInfo: true }, (err) => {
      if (err) return next(err)
      res.redirect('/')
    })
  })
  return app
}

const impls = implementations()
beforeAll(() => impls.start())
afterAll(() => impls.stop())

describe.each(impls.list)('passport 0.7 + passport-local on %s', (_name, session) => {
  let server: ReturnType<typeof app>
  beforeAll(() => {
    server = app(session)
  })

  it('an anonymous visitor gets no session and no cookie', async () => {
    const res = await request(server).get('/')
    expect(res.body).toEqual({ user: null })
    expect(sessionCookie(res)).toBeUndefined()
  })

  it('a failed login redirects to /login with the failure message in the session', async () => {
    const agent = request.agent(server)
    const res = await agent.post('/login/password').type('form').send({ username: 'alice', password: 'nope' })
    expect(res.status).toBe(302)
    expect(res.headers.location).toBe('/login')
    expect((await agent.get('/login')).body).toEqual({ messages: ['Incorrect username or password.'] })
    expect((await agent.get('/')).body).toEqual({ user: null })
  })

  it('login regenerates the session id (fixation), returnTo survives with keepSessionInfo, the user is deserialized next request', async () => {
    const agent = request.agent(server)
    const bounce = await agent.get('/private')
    expect(bounce.status).toBe(302)
    expect(bounce.headers.location).toBe('/login')
    const before = sessionCookie(bounce)
    expect(before).toBeDefined()

    const login = await agent
      .post('/login/password')
      .type('form')
      .send({ username: 'alice', password: 'wonderland' })
    expect(login.status).toBe(302)
    expect(login.headers.location).toBe('/private') // read from req.session.returnTo after regenerate
    const after = sessionCookie(login)
    expect(after).toBeDefined()
    expect(idOf(after)).not.toBe(idOf(before))

    const page = await agent.get('/private')
    expect(page.status).toBe(200)
    expect(page.text).toBe('private page of alice')
    // returnTo was consumed by passport, the user is stored as serialized
    expect((await agent.get('/session')).body).toEqual({ passport: { user: { id: '1' } } })

    // the pre-login id is dead: presenting it again gives an anonymous visitor
    const fixated = await request(server).get('/').set('Cookie', before!)
    expect(fixated.body).toEqual({ user: null })
  })

  it('deserializes from the store on each request (a renamed user shows the new name)', async () => {
    const agent = request.agent(server)
    await agent
      .post('/login/password')
      .type('form')
      .send({ username: 'bob', password: 'builder' })
      .expect(302)
    expect((await agent.get('/')).body).toEqual({ user: 'bob' })
    users[1]!.username = 'robert'
    try {
      expect((await agent.get('/')).body).toEqual({ user: 'robert' })
    } finally {
      users[1]!.username = 'bob'
    }
  })

  it('keepSessionInfo merges the anonymous data into the new session; without it the data is dropped', async () => {
    const keep = request.agent(server)
    await keep.post('/cart').expect(200)
    await keep
      .post('/login/password')
      .type('form')
      .send({ username: 'alice', password: 'wonderland' })
      .expect(302)
    expect((await keep.get('/session')).body).toEqual({ cart: ['book'], passport: { user: { id: '1' } } })

    const drop = request.agent(server)
    await drop.post('/cart').expect(200)
    const login = await drop
      .post('/login/plain')
      .type('form')
      .send({ username: 'alice', password: 'wonderland' })
    expect(login.headers.location).toBe('/')
    expect((await drop.get('/session')).body).toEqual({ passport: { user: { id: '1' } } })
  })

  it('logout regenerates: new id, anonymous afterwards, and the logged-in id no longer works', async () => {
    const agent = request.agent(server)
    const login = await agent
      .post('/login/password')
      .type('form')
      .send({ username: 'alice', password: 'wonderland' })
    const loggedIn = sessionCookie(login)!
    expect((await agent.get('/')).body).toEqual({ user: 'alice' })

    const logout = await agent.post('/logout')
    expect(logout.status).toBe(302)
    expect(logout.headers.location).toBe('/')
    expect((await agent.get('/')).body).toEqual({ user: null })
    // replaying the cookie of the logged-in session: destroyed by regenerate
    const replay = await request(server).get('/').set('Cookie', loggedIn)
    expect(replay.body).toEqual({ user: null })
    const replayPrivate = await request(server).get('/private').set('Cookie', loggedIn)
    expect(replayPrivate.status).toBe(302)
  })

  it('logout with keepSessionInfo keeps the other data, minus the user', async () => {
    const agent = request.agent(server)
    await agent.post('/cart').expect(200)
    await agent
      .post('/login/password')
      .type('form')
      .send({ username: 'alice', password: 'wonderland' })
      .expect(302)
    const logout = await agent.post('/logout/keep')
    expect(logout.status).toBe(302)
    const next = sessionCookie(logout)
    expect(next).toBeDefined()
    expect((await agent.get('/')).body).toEqual({ user: null })
    expect((await agent.get('/session')).body).toEqual({ cart: ['book'], passport: {} })
  })
})
