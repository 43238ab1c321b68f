/**
 * connect-flash as its README shows it: a message queued before a redirect is read once on
 * the next request, then gone. It stores messages in `req.session.flash`.
 */
import flash from 'connect-flash'
import express from 'express'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { implementations, type SessionFactory, sessionCookie } from './support'

function app(session: SessionFactory) {
  const app = express()
  app.use(
    session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 } }),
  )
  app.use(flash())
  app.get('/flash', (req, res) => {
    req.flash('info', 'Flash is back!')
    res.redirect('/')
  })
  app.get('/flash/many', (req, res) => {
    req.flash('info', 'Hi %s, you have %d messages', 'alice', 2)
    req.flash('error', ['first error', 'second error'])
    res.redirect('/all')
  })
  app.get('/', (req, res) => {
    res.json({ messages: req.flash('info') })
  })
  app.get('/all', (req, res) => {
    res.json(req.flash())
  })
  return app
}

const impls = implementations()
beforeAll(() => impls.start())
afterAll(() => impls.stop())

describe.each(impls.list)('connect-flash on %s', (_name, session) => {
  let server: ReturnType<typeof app>
  beforeAll(() => {
    server = app(session)
  })

  it('a message flashed before a redirect is shown once on the next request, then gone', async () => {
    const agent = request.agent(server)
    expect((await agent.get('/')).body).toEqual({ messages: [] })
    const redirect = await agent.get('/flash')
    expect(redirect.status).toBe(302)
    expect(redirect.headers.location).toBe('/')
    expect(sessionCookie(redirect)).toBeDefined()
    expect((await agent.get('/')).body).toEqual({ messages: ['Flash is back!'] })
    expect((await agent.get('/')).body).toEqual({ messages: [] })
  })

  it('formatted and array messages of several types, read all at once, then gone', async () => {
    const agent = request.agent(server)
    await agent.get('/flash/many').expect(302)
    expect((await agent.get('/all')).body).toEqual({
      info: ['Hi alice, you have 2 messages'],
      error: ['first error', 'second error'],
    })
    expect((await agent.get('/all')).body).toEqual({})
  })

  it('another visitor never sees the message', async () => {
    const alice = request.agent(server)
    await alice.get('/flash').expect(302)
    expect((await request(server).get('/')).body).toEqual({ messages: [] })
    expect((await alice.get('/')).body).toEqual({ messages: ['Flash is back!'] })
  })
})
