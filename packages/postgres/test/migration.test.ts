import type { AddressInfo } from 'node:net'
import { SessionRepository } from '@sessionkit/core'
import { startPostgres } from '@sessionkit/test-servers'
import connectPgSimple from 'connect-pg-simple'
import express from 'express'
import session from 'express-session'
import { afterAll, describe, expect, it } from 'vitest'
import type { PostgresStore } from '../src/index'
import { dispose, meta, newId, newPool, storeOn } from './support'

// The legacy rows are written for real: express-session with connect-pg-simple, over HTTP.
const server = await startPostgres()
const admin = newPool(server.url)
const PgSession = connectPgSimple(session)
// One connect store per middleware: express-session installs its cookie options on the store
// it is given (`store.generate`), so a shared one would take the last middleware's.
// The first creates connect-pg-simple's table (its table.sql) on its first query.
const legacyStores = [true, false].map(
  (createTableIfMissing) =>
    new PgSession({ pool: admin, createTableIfMissing, pruneSessionInterval: false, ttl: 120 }),
)

const app = express()
app.use(
  session({
    store: legacyStores[0],
    secret: 'legacy secret',
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 3_600_000 },
  }),
)
app.get('/login', (req, res) => {
  Object.assign(req.session, { user: 'alice', cart: { items: ['apple'] } })
  res.send(req.sessionID)
})
// A browser-session cookie (no maxAge): connect-pg-simple's expire is now + its `ttl` (120 s).
const browserApp = express()
browserApp.use(
  session({ store: legacyStores[1], secret: 'legacy secret', resave: false, saveUninitialized: false }),
)
browserApp.get('/login', (req, res) => {
  Object.assign(req.session, { user: 'bob' })
  res.send(req.sessionID)
})
const listening = [app.listen(0, '127.0.0.1'), browserApp.listen(0, '127.0.0.1')]
await Promise.all(listening.map((l) => new Promise((resolve) => l.once('listening', resolve))))
const [appUrl, browserUrl] = listening.map((l) => `http://127.0.0.1:${(l.address() as AddressInfo).port}`)

const stores: PostgresStore[] = []
afterAll(async () => {
  for (const s of stores) await dispose(s)
  for (const l of listening) l.close()
  for (const l of legacyStores) l.close()
  await admin.end()
  await server.stop()
})

/** A session express-session + connect-pg-simple wrote: its id. */
async function legacySession(base = appUrl!): Promise<string> {
  const response = await fetch(`${base}/login`)
  expect(response.status).toBe(200)
  return response.text()
}

async function legacyRow(sid: string) {
  return (await admin.query('SELECT sess, expire FROM session WHERE sid = $1', [sid])).rows[0]
}

async function store(options: { legacy?: boolean } = { legacy: true }): Promise<PostgresStore> {
  const s = await storeOn(server.url, 'migrated', options.legacy ? { legacy: {} } : {})
  stores.push(s)
  return s
}

describe('moving from express-session + connect-pg-simple', () => {
  it('a miss reads the legacy row: every top-level key one JSON attribute, the expiry from the cookie; nothing is moved yet', async () => {
    const s = await store()
    const sid = await legacySession()
    const record = await s.load(sid)
    expect(record).toBeDefined()
    expect(JSON.parse(record!.attributes.user!)).toBe('alice')
    expect(JSON.parse(record!.attributes.cart!)).toEqual({ items: ['apple'] })
    const cookie = JSON.parse(record!.attributes.cookie!)
    expect(cookie.originalMaxAge).toBe(3_600_000)
    expect(record!.expiresAt).toBe(Date.parse(cookie.expires))
    expect(record!.maxInactiveMs).toBe(3_600_000)
    // The repository decodes it like any record: the app sees the same data.
    const loaded = await new SessionRepository({ store: s }).load(sid)
    expect(loaded?.data).toMatchObject({ user: 'alice', cart: { items: ['apple'] } })
    expect(await legacyRow(sid)).toBeDefined()
    expect(await s.readRaw(sid)).toBeUndefined()
  })

  it('a browser-session cookie takes its expiry from the legacy expire column', async () => {
    const s = await store()
    const sid = await legacySession(browserUrl)
    const before = Date.now()
    const record = await s.load(sid)
    expect(record!.expiresAt).toBeGreaterThan(before + 110_000)
    expect(record!.expiresAt).toBeLessThan(before + 125_000)
  })

  it('a session connect-pg-simple touched (only its expire column moved) is live until that expire', async () => {
    const s = await store()
    const sid = await legacySession()
    // What connect-pg-simple's touch leaves once the stored cookie's expires has passed: the
    // column extended (an hour here), the JSON as it was first written.
    await admin.query(
      `UPDATE session SET sess = jsonb_set(sess::jsonb, '{cookie,expires}', to_jsonb($2::text))::json,
         expire = now() + interval '1 hour' WHERE sid = $1`,
      [sid, new Date(Date.now() - 60_000).toISOString()],
    )
    const record = await s.load(sid)
    expect(record, 'a session connect-pg-simple still serves was logged out').toBeDefined()
    expect(record!.expiresAt).toBeGreaterThan(Date.now() + 3_500_000)
    expect(await s.save({ id: sid, isNew: false, meta: meta(), set: { b: '1' }, removed: [] })).toBe('saved')
  })

  it('the first save moves the session: the legacy row is deleted, the change applied on top', async () => {
    const s = await store()
    const sid = await legacySession()
    const change = {
      id: sid,
      isNew: false,
      meta: meta(),
      set: { cart: '{"items":["apple","pear"]}' },
      removed: ['user'],
    }
    expect(await s.save(change)).toBe('saved')
    expect(await legacyRow(sid)).toBeUndefined()
    expect(await s.readRaw(sid)).toBeDefined()
    const record = await s.load(sid)
    expect(Object.keys(record!.attributes).sort()).toEqual(['cart', 'cookie'])
    expect(record!.attributes.cart).toBe('{"items":["apple","pear"]}')
  })

  it('a touch moves it too, writing only the times', async () => {
    const s = await store()
    const sid = await legacySession()
    const m = meta(7_200_000, 'ignored')
    expect(await s.touch(sid, { lastAccessedAt: m.lastAccessedAt, expiresAt: m.expiresAt })).toBe(true)
    expect(await legacyRow(sid)).toBeUndefined()
    const record = await s.load(sid)
    expect(record!.principal).toBeUndefined()
    expect(record!.maxInactiveMs).toBe(3_600_000)
    expect(JSON.parse(record!.attributes.user!)).toBe('alice')
  })

  it('a rotation (login) of a legacy session moves it to the new id in one statement', async () => {
    const s = await store()
    const sid = await legacySession()
    const record = (await s.load(sid))!
    const id = newId()
    const m = { ...meta(), principal: 'alice' }
    expect(
      await s.save({ id, previousId: sid, isNew: false, meta: m, set: record.attributes, removed: [] }),
    ).toBe('saved')
    expect(await legacyRow(sid)).toBeUndefined()
    expect(await s.load(sid)).toBeUndefined()
    expect((await s.load(id))!.attributes).toEqual({ ...record.attributes })
    expect((await s.findByPrincipal('alice')).map((r) => r.id)).toContain(id)
  })

  it('delete removes the legacy row (a logout during the switch stays a logout)', async () => {
    const s = await store()
    const sid = await legacySession()
    await s.delete(sid)
    expect(await legacyRow(sid)).toBeUndefined()
    expect(await s.load(sid)).toBeUndefined()
    expect(await s.save({ id: sid, isNew: false, meta: meta(), set: { a: '1' }, removed: [] })).toBe('gone')
  })

  it('an expired legacy row never loads, and a save of it answers gone', async () => {
    const s = await store()
    const sid = await legacySession()
    await admin.query("UPDATE session SET expire = now() - interval '1 minute' WHERE sid = $1", [sid])
    expect(await s.load(sid)).toBeUndefined()
    expect(await s.save({ id: sid, isNew: false, meta: meta(), set: { a: '1' }, removed: [] })).toBe('gone')
    expect(await s.touch(sid, meta())).toBe(false)
    expect(await s.readRaw(sid)).toBeUndefined()
  })

  it('concurrent first writes from two app instances (separate pools) both persist (15 trials)', async () => {
    const [a, b] = [await store(), await store()]
    for (let t = 0; t < 15; t++) {
      const sid = await legacySession()
      const results = await Promise.all([
        a.save({ id: sid, isNew: false, meta: meta(), set: { fromA: '1' }, removed: [] }),
        b.save({ id: sid, isNew: false, meta: meta(), set: { fromB: '2' }, removed: [] }),
        a.touch(sid, meta()),
      ])
      expect(results).toEqual(['saved', 'saved', true])
      const record = await a.load(sid)
      expect(Object.keys(record!.attributes).sort()).toEqual(['cart', 'cookie', 'fromA', 'fromB', 'user'])
      expect(await legacyRow(sid)).toBeUndefined()
    }
  })

  it('without the legacy option the legacy table is never read', async () => {
    const s = await store({ legacy: false })
    const sid = await legacySession()
    expect(await s.load(sid)).toBeUndefined()
    expect(await s.save({ id: sid, isNew: false, meta: meta(), set: { a: '1' }, removed: [] })).toBe('gone')
    expect(await legacyRow(sid)).toBeDefined()
  })

  it('cleanupExpired also deletes expired legacy rows, and only expired ones', async () => {
    const s = await store()
    const [expired, live] = [await legacySession(), await legacySession()]
    await admin.query("UPDATE session SET expire = now() - interval '1 minute' WHERE sid = $1", [expired])
    // Other tests' rows may be expired too: drain until nothing is left to delete.
    while ((await s.cleanupExpired({ limit: 100 })) > 0) {}
    expect(await legacyRow(expired)).toBeUndefined()
    expect(await legacyRow(live)).toBeDefined()
  })
})
