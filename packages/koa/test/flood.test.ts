import { randomBytes } from 'node:crypto'
import { MemoryStore } from '@sessionkit/memory'
import Koa from 'koa'
import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import session from '../src/index'

const MAX_SESSIONS = 200
const stores: MemoryStore[] = []
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
})

/**
 * koa-session's defaults in store mode, with the memory store (a small bound, to flood it
 * quickly), and a login that only writes `ctx.session.userId`, no sessionkit call. koa-session
 * stores no session for a request that leaves `ctx.session` empty, so the flood that fills a
 * store hits a page that writes one, as a CSRF middleware does on every form page.
 */
function dropInApp(store: MemoryStore): Koa {
  const app = new Koa()
  app.keys = ['a key']
  app.silent = true
  app.use(session({ store }, app))
  app.use(async (ctx) => {
    const data = ctx.session as unknown as Record<string, unknown>
    if (ctx.path === '/form') data.csrfSecret = randomBytes(18).toString('base64url')
    if (ctx.path === '/login') data.userId = ctx.query.user
    ctx.body = ctx.path === '/me' ? (data.userId ?? 'anonymous') : 'ok'
  })
  return app
}

const cookiesOf = (res: request.Response) =>
  ((res.headers['set-cookie'] as unknown as string[] | undefined) ?? [])
    .map((c) => c.split(';')[0]!)
    .join('; ')

describe('a flood of cookie-less requests (koa-session defaults, store mode, no setPrincipal)', () => {
  it('never logs out a user who logged in and came back', async () => {
    const store = new MemoryStore({ maxSessions: MAX_SESSIONS })
    stores.push(store)
    const server = dropInApp(store).listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    try {
      const users = new Map<string, string>()
      for (let n = 0; n < 20; n++) {
        const user = `user${n}`
        // Opens the login form (a session with its CSRF secret), then logs in with that cookie.
        const cookie = cookiesOf(await request(server).get('/form').expect(200))
        expect(cookie).toMatch(/koa\.sess=.+; koa\.sess\.sig=/)
        await request(server).post(`/login?user=${user}`).set('Cookie', cookie).expect(200)
        users.set(user, cookie)
      }
      const evicted: (string | undefined)[] = []
      store.on('evicted', ({ principal }) => evicted.push(principal))

      for (let n = 0; n < 100; n++) await request(server).get('/').expect(200)
      expect(store.size, 'a request that leaves ctx.session empty stores nothing').toBe(20)
      for (let n = 0; n < 3 * MAX_SESSIONS; n++) await request(server).get('/form').expect(200)

      expect(store.size).toBe(MAX_SESSIONS)
      expect(evicted).toHaveLength(20 + 3 * MAX_SESSIONS - MAX_SESSIONS)
      for (const [user, cookie] of users) {
        expect((await request(server).get('/me').set('Cookie', cookie)).text, user).toBe(user)
      }
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
