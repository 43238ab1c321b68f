/**
 * A TypeScript app written the way @types/express-session users write theirs, with the module
 * name changed: session data typed by declaration merging, `req.session.account?.id` typed,
 * callback and promise forms typed. `tsc -p tsconfig.json` checks this file (the
 * `@ts-expect-error` lines fail the typecheck if the typing ever loosens); vitest runs the app.
 */
import session, { type SessionData } from '@sessionkit/express'
import express, { type NextFunction, type Request, type Response } from 'express'
import request from 'supertest'
import { describe, expect, expectTypeOf, it } from 'vitest'

// As in an app's own file (a module, thanks to the imports above). `user` is taken by another
// test file of this program with a different type, so this app calls its user `account`.
declare module '@sessionkit/express' {
  interface SessionData {
    account: { id: string; name: string }
    returnTo: string
  }
}

function requireLogin(req: Request, res: Response, next: NextFunction) {
  if (!req.session.account) {
    req.session.returnTo = req.originalUrl
    return res.redirect('/login')
  }
  next()
}

const displayName = (data: Partial<SessionData>): string => data.account?.name ?? 'guest'

const app = express()
app.use(express.json())
app.use(
  session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000 } }),
)

app.post('/login', (req, res, next) => {
  const returnTo = req.session.returnTo
  req.session.regenerate((err) => {
    if (err) return next(err)
    req.session.account = { id: String(req.body.id), name: String(req.body.name) }
    if (req.body.remember) req.session.cookie.maxAge = 30 * 86_400_000
    req.session.save((err) => {
      if (err) return next(err)
      res.redirect(returnTo ?? '/')
    })
  })
})

app.get('/me', requireLogin, (req, res) => {
  const id = req.session.account?.id
  expectTypeOf(id).toEqualTypeOf<string | undefined>()
  expectTypeOf(req.session.account).toEqualTypeOf<{ id: string; name: string } | undefined>()
  expectTypeOf(req.sessionID).toEqualTypeOf<string>()
  expectTypeOf(req.session.id).toEqualTypeOf<string>()
  expectTypeOf(req.session.cookie.maxAge).toEqualTypeOf<number | null>()
  expectTypeOf(req.session.cookie.originalMaxAge).toEqualTypeOf<number | null>()
  if (false as boolean) {
    // @ts-expect-error: possibly undefined, as with @types/express-session
    req.session.account.id.toUpperCase()
    // @ts-expect-error: the declared shape is enforced
    req.session.account = { id: 42, name: 'x' }
    // @ts-expect-error: no index signature: unknown keys are errors (as @types/express-session since 1.17.1)
    req.session.nope = 1
  }
  res.json({ id, name: displayName(req.session), maxAge: req.session.cookie.originalMaxAge })
})

app.post('/logout', async (req, res) => {
  const destroyed: Promise<void> = req.session.destroy() // no callback: a promise
  await destroyed
  res.send('bye')
})

app.post('/rename', (req, res, next) => {
  const account = req.session.account
  if (!account) return res.sendStatus(401)
  account.name = String(req.body.name)
  // callback forms return the session for chaining, as typed by @types/express-session
  const chained = req.session.touch().save((err) => (err ? next(err) : res.send('renamed')))
  expectTypeOf(chained).toEqualTypeOf<typeof req.session>()
})

describe('a TypeScript app with typed session data', () => {
  it('logs in after a returnTo bounce, reads typed data, renames, logs out', async () => {
    const agent = request.agent(app)
    const bounce = await agent.get('/me')
    expect(bounce.status).toBe(302)
    expect(bounce.headers.location).toBe('/login')
    const login = await agent.post('/login').send({ id: 42, name: 'alice', remember: true })
    expect(login.headers.location).toBe('/me')
    expect((await agent.get('/me')).body).toEqual({ id: '42', name: 'alice', maxAge: 30 * 86_400_000 })
    expect((await agent.post('/rename').send({ name: 'alicia' })).text).toBe('renamed')
    expect((await agent.get('/me')).body).toMatchObject({ name: 'alicia' })
    expect((await agent.post('/logout')).text).toBe('bye')
    expect((await agent.get('/me')).status).toBe(302)
  })
})
