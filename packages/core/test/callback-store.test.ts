import { describe, expect, it } from 'vitest'
import { type CallbackStore, fromCallbackStore, SessionRepository } from '../src/index'

type Cb = (err?: unknown, value?: any) => void

/** A connect store keeping JSON, like connect-redis; `touch` (optional) only extends a TTL. */
function connectStore(withTouch: boolean) {
  const objects = new Map<string, string>()
  const touched: string[] = []
  const store: CallbackStore = {
    get: (sid: string, cb: Cb) => {
      const raw = objects.get(sid)
      cb(null, raw === undefined ? null : JSON.parse(raw))
    },
    set: (sid: string, session: object, cb: Cb) => {
      objects.set(sid, JSON.stringify(session))
      cb()
    },
    destroy: (sid: string, cb: Cb) => {
      objects.delete(sid)
      cb()
    },
  }
  if (withTouch) {
    store.touch = (sid: string, _session: object, cb: Cb) => {
      touched.push(sid) // EXPIRE: the stored JSON is left as it is
      cb()
    }
  }
  return { store, objects, touched }
}

const ID = 'a'.repeat(43)
const stale = (originalMaxAge: number) =>
  JSON.stringify({
    user: 'alice',
    cookie: { originalMaxAge, expires: new Date(Date.now() - 1000).toISOString(), path: '/' },
  })

describe('fromCallbackStore', () => {
  it("with expiry 'store', a session the store still returns is live, and due for a touch that rewrites its expiry", async () => {
    const legacy = connectStore(true)
    legacy.objects.set(ID, stale(60_000))
    const repository = new SessionRepository({ store: fromCallbackStore(legacy.store, { expiry: 'store' }) })
    const session = await repository.load(ID)
    expect(session?.data).toMatchObject({ user: 'alice' })
    expect(session!.expiresAt).toBeGreaterThan(Date.now())
    expect(await repository.save(session!)).toBe('touched')
    // rewritten whole, so the stored `cookie.expires` is the new expiry
    const touched = JSON.parse(legacy.objects.get(ID)!)
    expect(Date.parse(touched.cookie.expires)).toBe(session!.expiresAt)
    // and a change to it is saved, not refused as "gone"
    ;(session!.data as Record<string, unknown>).cart = ['book']
    expect(await repository.save(session!)).toBe('saved')
    expect(JSON.parse(legacy.objects.get(ID)!)).toMatchObject({ user: 'alice', cart: ['book'] })
  })

  it('by default the stored cookie.expires is the expiry, even for a store with touch', async () => {
    const legacy = connectStore(true)
    legacy.objects.set(ID, stale(60_000))
    const repository = new SessionRepository({ store: fromCallbackStore(legacy.store) })
    expect(await repository.load(ID)).toBeUndefined()
  })

  it('a store without touch is rewritten on every touch, so its stored expiry is the truth', async () => {
    const legacy = connectStore(false)
    legacy.objects.set(ID, stale(60_000))
    const repository = new SessionRepository({ store: fromCallbackStore(legacy.store) })
    expect(await repository.load(ID)).toBeUndefined()
    // also when a binding drives it as its peer, which trusts only a store that can touch
    const peer = { keepAlive: 'touch', destroyExpiredOnLoad: false } as const
    expect(await fromCallbackStore(legacy.store, { peer }).load(ID)).toBeUndefined()
    expect(await fromCallbackStore(legacy.store, { expiry: 'store' }).load(ID)).toBeUndefined()
  })

  it('round-trips attribute text that is no JSON, or JSON that would not re-encode the same, byte for byte', async () => {
    const legacy = connectStore(true)
    const store = fromCallbackStore(legacy.store)
    const now = Date.now()
    const set = {
      plain: 'not json',
      spaced: '{ "a": 1 }',
      reordered: '{"b":1,"1":2}',
      negativeZero: '-0',
      json: '{"n":1,"list":[true,null]}',
      quoted: '"text"',
    }
    const meta = {
      createdAt: now,
      lastAccessedAt: now,
      maxInactiveMs: 60_000,
      expiresAt: now + 60_000,
      principal: null,
    }
    expect(await store.save({ id: ID, isNew: true, meta, set, removed: [] })).toBe('saved')
    expect({ ...(await store.load(ID))!.attributes }).toEqual(set)
    // what a peer app reads: the JSON values decoded, the rest as the text itself
    const object = JSON.parse(legacy.objects.get(ID)!)
    expect(object).toMatchObject({ json: { n: 1, list: [true, null] }, quoted: 'text', plain: 'not json' })
  })

  it('declares a connect store process-local unless told it is shared', () => {
    expect(fromCallbackStore(connectStore(true).store).capabilities.shared).toBe(false)
    expect(fromCallbackStore(connectStore(true).store, { shared: true }).capabilities.shared).toBe(true)
  })

  it("names the store's call and its cause in errors; a parse failure is a corrupt record", async () => {
    class BrokenStore {
      get(_sid: string, cb: Cb) {
        cb(new SyntaxError('Unexpected token } in JSON'))
      }
      set(_sid: string, _session: object, cb: Cb) {
        cb(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))
      }
      destroy(_sid: string, cb: Cb) {
        cb(new Error('disk full'))
      }
    }
    const store = fromCallbackStore(new BrokenStore())
    await expect(store.load(ID)).rejects.toMatchObject({
      code: 'CORRUPT_RECORD',
      message: 'BrokenStore.get failed: Unexpected token } in JSON',
    })
    const now = Date.now()
    const meta = {
      createdAt: now,
      lastAccessedAt: now,
      maxInactiveMs: 1000,
      expiresAt: now + 1000,
      principal: null,
    }
    const healthy = fromCallbackStore({ ...connectStore(true).store, set: new BrokenStore().set })
    await expect(healthy.save({ id: ID, isNew: true, meta, set: {}, removed: [] })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: 'connect store.set failed: connect ECONNREFUSED 127.0.0.1:1',
    })
    await expect(store.delete(ID)).rejects.toMatchObject({
      code: 'STORE_ERROR',
      message: 'BrokenStore.destroy failed: disk full',
    })
    // a repository treats the corrupt record as absent
    expect(await new SessionRepository({ store }).load(ID)).toBeUndefined()
  })

  it("touches through the store's touch where it writes the cookie, so the attributes are never rewritten", async () => {
    const legacy = connectStore(false)
    const sets: string[] = []
    const set = legacy.store.set
    legacy.store.set = (sid: string, session: object, cb: Cb) => {
      sets.push(sid)
      return set(sid, session, cb)
    }
    // memorystore's touch: the stored object with the given cookie
    legacy.store.touch = (sid: string, session: object, cb: Cb) => {
      const stored = JSON.parse(legacy.objects.get(sid)!)
      stored.cookie = (session as { cookie: unknown }).cookie
      legacy.objects.set(sid, JSON.stringify(stored))
      cb()
    }
    const store = fromCallbackStore(legacy.store)
    const now = Date.now()
    const meta = {
      createdAt: now,
      lastAccessedAt: now,
      maxInactiveMs: 60_000,
      expiresAt: now + 60_000,
      principal: null,
    }
    await store.save({ id: ID, isNew: true, meta, set: { a: '1' }, removed: [] })
    for (const step of [1, 2]) {
      const touch = { lastAccessedAt: now + step * 1000, expiresAt: now + 60_000 + step * 2000 }
      expect(await store.touch(ID, touch)).toBe(true)
      expect(await store.load(ID)).toMatchObject({ ...touch, createdAt: now, maxInactiveMs: 60_000 })
    }
    expect(sets).toEqual([ID])
  })
})
