import { MemoryStore } from '@sessionkit/memory'
import { holdNextCall } from '@sessionkit/test-servers'
import Koa from 'koa'
import request from 'supertest'
import { expect, it } from 'vitest'
import session from '../src/index'

// "Log out everywhere" on device B while device A logs in again (changeId) in the gap between
// the revocation's lookup and its deletes: A's session moved to a key the lookup never saw.
it('revokeAll racing a login rotation on another device leaves no session of the user loadable', async () => {
  const store = new MemoryStore()
  const app = new Koa()
  app.keys = ['key a']
  app.silent = true
  app.use(session({ store }, app))
  app.use(async (ctx) => {
    const s = ctx.session!
    if (ctx.path === '/login') {
      await s.changeId()
      s.user = 'ann'
      s.setPrincipal('ann')
      ctx.body = 'ok'
    } else if (ctx.path === '/revoke') {
      ctx.body = String(await s.revokeAll())
    } else {
      ctx.body = s.user ?? 'anonymous'
    }
  })
  const server = app.callback()
  const cookies = (res: request.Response) =>
    (res.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ')
  for (let trial = 0; trial < 20; trial++) {
    const a = cookies(await request(server).post('/login'))
    const b = cookies(await request(server).post('/login'))
    const held = holdNextCall(store, 'findByPrincipal')
    const revoking = request(server)
      .post('/revoke')
      .set('Cookie', b)
      .then((r) => r)
    await held.reached
    const rotated = cookies(await request(server).post('/login').set('Cookie', a))
    expect(rotated).not.toBe(a)
    held.release()
    expect((await revoking).text).toBe('2')
    for (const cookie of [a, rotated, b]) {
      expect((await request(server).get('/me').set('Cookie', cookie)).text).toBe('anonymous')
    }
  }
})
