import { MemoryStore } from '@sessionkit/memory'
import { holdNextCall } from '@sessionkit/test-servers'
import { describe, expect, it } from 'vitest'
import { makeApp, request, sessionCookie } from './helpers'

// "Log out everywhere" on device B while device A logs in again (changeId) in the gap between
// the revocation's lookup and its deletes: A's session moved to an id the lookup never saw.
describe('revokeAll racing a login rotation on another device', () => {
  it('leaves no session of the user loadable, under the old or the new id', async () => {
    const store = new MemoryStore()
    const app = makeApp({ store }, (app) => {
      app.post('/login', async (req, res) => {
        await req.session.changeId()
        req.session.user = 'ann'
        req.session.setPrincipal('ann')
        res.send('ok')
      })
      app.post('/revoke', async (req, res) => {
        res.send(String(await req.session.revokeAll()))
      })
      app.get('/me', (req, res) => {
        res.send(req.session.user ?? 'anonymous')
      })
    })
    for (let trial = 0; trial < 20; trial++) {
      const a = sessionCookie(await request(app).post('/login'))!
      const b = sessionCookie(await request(app).post('/login'))!
      const held = holdNextCall(store, 'findByPrincipal')
      const revoking = request(app)
        .post('/revoke')
        .set('Cookie', b)
        .then((r) => r)
      await held.reached
      const relogin = await request(app).post('/login').set('Cookie', a)
      const rotated = sessionCookie(relogin)!
      expect(rotated).not.toBe(a)
      held.release()
      expect((await revoking).text).toBe('2')
      for (const cookie of [a, rotated, b]) {
        expect((await request(app).get('/me').set('Cookie', cookie)).text).toBe('anonymous')
      }
    }
  })
})
