import { afterEach, describe, expect, it } from 'vitest'
import fastifySession from '../src/index'
import { Client, type Running, start } from './helpers'

// As test/types.test.ts declares it (declarations merge across the program and must agree).
declare module 'fastify' {
  interface Session {
    userId: string
  }
}

const MAX_SESSIONS = 200
const running: Running[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()))
})

describe('a flood of cookie-less requests (@fastify/session defaults, no setPrincipal)', () => {
  it('never logs out a user who logged in', async () => {
    // The peer's defaults (saveUninitialized and rolling true), the default store class with a
    // small bound to flood it quickly; `secure: false` from start() stands for the HTTPS a
    // secure cookie needs. The login only writes `request.session.userId`.
    const store = new fastifySession.MemoryStore({ maxSessions: MAX_SESSIONS })
    const app = await start({ store }, (app) => {
      app.get('/', async () => 'home')
      app.post<{ Querystring: { user: string } }>('/login', async (request) => {
        request.session.userId = request.query.user
        return 'welcome'
      })
      app.get('/me', async (request) => request.session.userId ?? 'anonymous')
    })
    running.push(app)
    const users = new Map<string, Client>()
    for (let n = 0; n < 20; n++) {
      const user = `user${n}`
      const client = new Client(app.url)
      // Half visit the home page first (saveUninitialized gives a cookie), half log in on
      // their very first request and have not come back when the flood starts.
      if (n % 2 === 0) await client.get('/')
      expect((await client.request(`/login?user=${user}`, { method: 'POST' })).status).toBe(200)
      users.set(user, client)
    }
    const evicted: (string | undefined)[] = []
    store.on('evicted', ({ principal }) => evicted.push(principal))

    for (let n = 0; n < 3 * MAX_SESSIONS; n++) {
      const reply = await new Client(app.url).get('/')
      expect(reply.setCookies, 'each cookie-less request creates a session').toHaveLength(1)
    }

    expect(store.size).toBe(MAX_SESSIONS)
    expect(evicted).toHaveLength(20 + 3 * MAX_SESSIONS - MAX_SESSIONS)
    for (const [user, client] of users) expect((await client.get('/me')).body, user).toBe(user)
  })
})
