import { createHmac } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { startPostgres } from '@sessionkit/test-servers'
import connectPgSimple from 'connect-pg-simple'
import express from 'express'
import session from 'express-session'
import { afterAll, describe, expect, it } from 'vitest'
import type { PostgresStore } from '../src/index'
import { dispose, meta, newId, newPool, storeOn } from './support'

// A mixed fleet: an express-session server on connect-pg-simple (the peer) and sessionkit
// stores with `legacy: { keep: true }`, one database.
const server = await startPostgres()
const admin = newPool(server.url)
const SECRET = 'legacy secret'
const PgSession = connectPgSimple(session)
const peerStore = new PgSession({ pool: admin, createTableIfMissing: true, pruneSessionInterval: false })

const peer = express()
peer.use(session({ store: peerStore, secret: SECRET, resave: false, saveUninitialized: false }))
peer.get('/whoami', (req, res) => {
  res.json(req.session)
})
peer.get('/set', (req, res) => {
  Object.assign(req.session, req.query)
  res.send('ok')
})
peer.get('/logout', (req, res) => {
  req.session.destroy(() => res.send('bye'))
})
const listening = peer.listen(0, '127.0.0.1')
await new Promise((resolve) => listening.once('listening', resolve))
const peerUrl = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`
// The peer's table exists before any sessionkit store writes to it (connect-pg-simple creates it
// on its first query).
await new Promise<void>((resolve, reject) =>
  peerStore.get(newId(), (err: unknown) => (err ? reject(err) : resolve())),
)

const stores: PostgresStore[] = []
afterAll(async () => {
  for (const s of stores) await dispose(s)
  listening.close()
  peerStore.close()
  await admin.end()
  await server.stop()
})

async function store(keep = true): Promise<PostgresStore> {
  const s = await storeOn(server.url, 'kept', { legacy: { keep } })
  stores.push(s)
  return s
}

/** A request to the peer with the session cookie express-session would have set for `sid`. */
async function onPeer(path: string, sid: string): Promise<Record<string, unknown> | string> {
  const mac = createHmac('sha256', SECRET).update(sid).digest('base64').replace(/=+$/, '')
  const response = await fetch(`${peerUrl}${path}`, {
    headers: { cookie: `connect.sid=${encodeURIComponent(`s:${sid}.${mac}`)}` },
  })
  const text = await response.text()
  return path === '/whoami' ? (JSON.parse(text) as Record<string, unknown>) : text
}

async function legacyRow(sid: string) {
  return (await admin.query('SELECT sess, expire FROM session WHERE sid = $1', [sid])).rows[0]
}

const cookie = JSON.stringify({ originalMaxAge: 3_600_000 })

describe('legacy: { keep: true } (express-session servers still running)', () => {
  it('a new session starts in connect-pg-simple’s table and format: the peer serves it', async () => {
    const s = await store()
    const id = newId()
    const m = meta(3_600_000, 'alice')
    expect(await s.save({ id, isNew: true, meta: m, set: { cookie, user: '"alice"' }, removed: [] })).toBe(
      'saved',
    )
    expect(await s.readRaw(id)).toBeUndefined()
    const row = await legacyRow(id)
    expect(row.sess.user).toBe('alice')
    expect(Date.parse(row.sess.cookie.expires)).toBe(m.expiresAt)
    const seen = (await onPeer('/whoami', id)) as Record<string, unknown>
    expect(seen.user).toBe('alice')
    // What sessionkit loads back: the same session, its owner and creation time kept.
    const record = await s.load(id)
    expect(record!.principal).toBe('alice')
    expect(record!.createdAt).toBe(m.createdAt)
    expect(JSON.parse(record!.attributes.user!)).toBe('alice')
    expect((await s.findByPrincipal('alice')).map((r) => r.id)).toEqual([id])
    expect(await s.save({ id, isNew: true, meta: meta(), set: {}, removed: [] })).toBe('collision')
  })

  it('writes go both ways: the peer sees sessionkit’s change, sessionkit sees the peer’s', async () => {
    const s = await store()
    const id = newId()
    expect(
      await s.save({ id, isNew: true, meta: meta(3_600_000, 'bob'), set: { cookie, a: '1' }, removed: [] }),
    ).toBe('saved')
    expect(await onPeer('/set?fromPeer=yes', id)).toBe('ok')
    expect(await s.save({ id, isNew: false, meta: meta(), set: { b: '2' }, removed: ['a'] })).toBe('saved')
    const seen = (await onPeer('/whoami', id)) as Record<string, unknown>
    expect(seen).toMatchObject({ fromPeer: 'yes', b: 2 })
    expect(seen.a).toBeUndefined()
    const record = await s.load(id)
    expect(JSON.parse(record!.attributes.fromPeer!)).toBe('yes')
    expect(record!.principal).toBe('bob')
    expect(await s.readRaw(id)).toBeUndefined()
  })

  it('concurrent saves of different attributes from two sessionkit servers both persist (15 trials)', async () => {
    const [a, b] = [await store(), await store()]
    for (let t = 0; t < 15; t++) {
      const id = newId()
      expect(await a.save({ id, isNew: true, meta: meta(), set: { cookie }, removed: [] })).toBe('saved')
      const results = await Promise.all([
        a.save({ id, isNew: false, meta: meta(), set: { x: '1' }, removed: [] }),
        b.save({ id, isNew: false, meta: meta(), set: { y: '2' }, removed: [] }),
        b.touch(id, meta()),
      ])
      expect(results).toEqual(['saved', 'saved', true])
      expect((await onPeer('/whoami', id)) as Record<string, unknown>).toMatchObject({ x: 1, y: 2 })
    }
  })

  it('a logout on the peer stays a logout: save answers gone, touch false, nothing is written back', async () => {
    const s = await store()
    const id = newId()
    expect(await s.save({ id, isNew: true, meta: meta(), set: { cookie, a: '1' }, removed: [] })).toBe(
      'saved',
    )
    expect(await onPeer('/logout', id)).toBe('bye')
    expect(await s.save({ id, isNew: false, meta: meta(), set: { a: '2' }, removed: [] })).toBe('gone')
    expect(await s.touch(id, meta())).toBe(false)
    expect(await legacyRow(id)).toBeUndefined()
    expect(await s.readRaw(id)).toBeUndefined()
  })

  it('a rotation (login) writes the new id in the legacy format and deletes the old one', async () => {
    const s = await store()
    const old = newId()
    expect(
      await s.save({ id: old, isNew: true, meta: meta(), set: { cookie, cart: '["apple"]' }, removed: [] }),
    ).toBe('saved')
    const id = newId()
    const m = meta(3_600_000, 'carol')
    expect(
      await s.save({
        id,
        previousId: old,
        isNew: false,
        meta: m,
        set: { cookie, cart: '["apple"]' },
        removed: [],
      }),
    ).toBe('saved')
    expect(await legacyRow(old)).toBeUndefined()
    expect(((await onPeer('/whoami', id)) as Record<string, unknown>).cart).toEqual(['apple'])
    expect((await s.findByPrincipal('carol')).map((r) => r.id)).toEqual([id])
    expect(await s.save({ id: newId(), previousId: old, isNew: false, meta: m, set: {}, removed: [] })).toBe(
      'gone',
    )
  })

  it('a touch moves the expire column and the cookie’s expires, as the peer’s would', async () => {
    const s = await store()
    const id = newId()
    expect(await s.save({ id, isNew: true, meta: meta(60_000), set: { cookie }, removed: [] })).toBe('saved')
    const later = meta(3_600_000)
    expect(await s.touch(id, { lastAccessedAt: later.lastAccessedAt, expiresAt: later.expiresAt })).toBe(true)
    const row = await legacyRow(id)
    expect(Date.parse(row.sess.cookie.expires)).toBe(later.expiresAt)
    expect(row.expire.getTime()).toBeGreaterThan(Date.now() + 3_500_000)
  })

  it('a session already in the new table stays there', async () => {
    const mover = await store(false)
    const kept = await store()
    const id = newId()
    expect(await mover.save({ id, isNew: true, meta: meta(), set: { a: '1' }, removed: [] })).toBe('saved')
    expect(await kept.save({ id, isNew: false, meta: meta(), set: { b: '2' }, removed: [] })).toBe('saved')
    expect({ ...(await kept.load(id))!.attributes }).toEqual({ a: '1', b: '2' })
    expect(await legacyRow(id)).toBeUndefined()
    expect(await kept.save({ id, isNew: true, meta: meta(), set: {}, removed: [] })).toBe('collision')
  })
})
