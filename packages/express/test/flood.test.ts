import type { AddressInfo, Server } from 'node:net'
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import session, { MemoryStore } from '../src/index'
import { request, SECRET, sessionCookie } from './helpers'

declare module '@sessionkit/express' {
  interface SessionData {
    userId: string
  }
}

const MAX_SESSIONS = 200
const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

/**
 * An app as it comes from express-session: `resave` and `saveUninitialized` left unset (both
 * true), the default store class (here with a small bound, to flood it quickly), and a login
 * that only writes `req.session.userId`, no sessionkit call.
 */
function dropInApp(store: MemoryStore): Server {
  const app = express()
  app.use(session({ secret: SECRET, store }))
  app.get('/', (_req, res) => {
    res.send('home')
  })
  app.post('/login', (req, res) => {
    req.session.userId = String(req.query.user)
    res.send('welcome')
  })
  app.get('/me', (req, res) => {
    res.send(req.session.userId ?? 'anonymous')
  })
  const server = app.listen(0, '127.0.0.1')
  servers.push(server)
  return server
}

describe('a flood of cookie-less requests (express-session defaults, no setPrincipal)', () => {
  it('never logs out a user who logged in', async () => {
    const store = new MemoryStore({ maxSessions: MAX_SESSIONS })
    const server = dropInApp(store)
    await new Promise((resolve) => server.once('listening', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const users = new Map<string, string>()
    for (let n = 0; n < 20; n++) {
      const user = `user${n}`
      if (n % 2 === 0) {
        // Visits the home page (saveUninitialized gives a cookie), then logs in with it.
        const cookie = sessionCookie(await request(base).get('/'))!
        await request(base).post(`/login?user=${user}`).set('Cookie', cookie).expect(200)
        users.set(user, cookie)
      } else {
        // Logs in on its very first request and has not come back yet when the flood starts.
        users.set(user, sessionCookie(await request(base).post(`/login?user=${user}`).expect(200))!)
      }
    }
    const evicted: (string | undefined)[] = []
    store.on('evicted', ({ principal }) => evicted.push(principal))

    for (let n = 0; n < 3 * MAX_SESSIONS; n++) {
      const res = await request(base).get('/')
      expect(sessionCookie(res), 'each cookie-less request creates a session').toBeDefined()
    }

    expect(store.size).toBe(MAX_SESSIONS)
    expect(evicted).toHaveLength(20 + 3 * MAX_SESSIONS - MAX_SESSIONS)
    for (const [user, cookie] of users) {
      expect((await request(base).get('/me').set('Cookie', cookie)).text, user).toBe(user)
    }
  })
})

describe('enumerating the MemoryStore (express-session’s all and length)', () => {
  it('is no visit: the sessions it reads are still evicted before a user who came back', async () => {
    const store = new MemoryStore({ maxSessions: 20 })
    const server = dropInApp(store)
    await new Promise((resolve) => server.once('listening', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const cookie = sessionCookie(await request(base).get('/'))!
    await request(base).post('/login?user=ada').set('Cookie', cookie).expect(200)
    for (let n = 0; n < 19; n++) await request(base).get('/').expect(200)

    // An admin page listing the sessions, both ways an app may ask.
    expect(Object.keys(await store.all())).toHaveLength(20)
    expect(await store.length()).toBe(20)
    expect(await new Promise((resolve) => store.length((_err, n) => resolve(n)))).toBe(20)

    for (let n = 0; n < 20; n++) await request(base).get('/').expect(200)
    expect((await request(base).get('/me').set('Cookie', cookie)).text).toBe('ada')
  })
})
