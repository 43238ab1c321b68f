import { fromCallbackStore } from '@sessionkit/core'
import session from 'express-session'
import memorystore from 'memorystore'
import { afterAll, describe, expect, it } from 'vitest'
import { describeStoreConformance } from '../src/vitest'
import { connectStoreRuns } from './fixtures/real-connect-stores'

// The adapter's documented default on each real npm connect store: every case it does not
// skip must pass, and every skip names what the connect store cannot do.
for (const run of connectStoreRuns) {
  const started = await run.start()
  afterAll(() => started.stop())
  describeStoreConformance(started.options)
}

describe("the adapter's session object is the peers' (memorystore, express-session's Cookie)", () => {
  const MemoryStore = memorystore(session)
  const sid = 'p'.repeat(32)
  const call = <T>(op: (cb: (err: unknown, value?: T) => void) => void) =>
    new Promise<T | undefined>((resolve, reject) => op((err, value) => (err ? reject(err) : resolve(value))))

  it('a peer reads the values a sessionkit app saved, with its expiry in cookie.expires', async () => {
    const backend = new MemoryStore({})
    const now = Date.now()
    const meta = {
      createdAt: now,
      lastAccessedAt: now,
      maxInactiveMs: 60_000,
      expiresAt: now + 60_000,
      principal: null,
    }
    // as a binding encodes them: JSON text per attribute, `cookie` its per-session settings
    const set = { user: '{"name":"alice","roles":["admin"]}', views: '3', cookie: '{"originalMaxAge":60000}' }
    await fromCallbackStore(backend).save({ id: sid, isNew: true, meta, set, removed: [] })
    const seen = (await call<Record<string, any>>((cb) => backend.get(sid, cb as never)))!
    expect(seen).toMatchObject({ user: { name: 'alice', roles: ['admin'] }, views: 3 })
    // what express-session makes of it on load
    const req = { sessionID: sid, sessionStore: backend } as unknown as { session: session.Session }
    backend.createSession(req as never, seen as never)
    expect(req.session.cookie).toMatchObject({ originalMaxAge: 60_000, expires: new Date(now + 60_000) })
    expect(req.session).toMatchObject({ user: { name: 'alice', roles: ['admin'] }, views: 3 })
  })

  it('a sessionkit app reads what a peer saved, as the JSON text of each value', async () => {
    const backend = new MemoryStore({})
    const cookie = new session.Cookie()
    cookie.maxAge = 60_000 // as express-session sets it from the `cookie` option
    await call((cb) => backend.set(sid, { cookie, user: { name: 'bob' }, cart: [1, 2] } as never, cb))
    const record = await fromCallbackStore(backend).load(sid)
    expect({ ...record!.attributes }).toEqual({
      user: '{"name":"bob"}',
      cart: '[1,2]',
      cookie: '{"originalMaxAge":60000,"httpOnly":true,"path":"/"}',
    })
    expect(record!.expiresAt).toBe((cookie.expires as Date).getTime())
  })
})
