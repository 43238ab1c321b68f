import { MemoryStore } from '@sessionkit/memory'
import { holdNextCall } from '@sessionkit/test-servers'
import { afterEach, expect, it } from 'vitest'
import { Client, type Running, start } from './helpers'

let running: Running | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

// "Log out everywhere" on device B while device A logs in again (changeId) in the gap between
// the revocation's lookup and its deletes: A's session moved to an id the lookup never saw.
it('revokeAll racing a login rotation on another device leaves no session of the user loadable', async () => {
  const store = new MemoryStore()
  running = await start({ store, saveUninitialized: false }, (app) => {
    app.post('/login', async (request) => {
      await request.session.changeId()
      request.session.login = 'ann'
      request.session.setPrincipal('ann')
      return 'ok'
    })
    app.post('/revoke', async (request) => String(await request.session.revokeAll()))
    app.get('/me', async (request) => request.session.login ?? 'anonymous')
  })
  for (let trial = 0; trial < 20; trial++) {
    const a = new Client(running.url)
    const b = new Client(running.url)
    await a.request('/login', { method: 'POST' })
    await b.request('/login', { method: 'POST' })
    const before = new Map(a.jar)
    const held = holdNextCall(store, 'findByPrincipal')
    const revoking = b.request('/revoke', { method: 'POST' })
    await held.reached
    await a.request('/login', { method: 'POST' })
    expect(a.jar).not.toEqual(before)
    held.release()
    expect((await revoking).body).toBe(2)
    const old = new Client(running.url)
    for (const [k, v] of before) old.jar.set(k, v)
    for (const client of [a, b, old]) expect((await client.get('/me')).body).toBe('anonymous')
  }
})
