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
  it('a store with touch is the authority on expiry: a session it still returns is live, and due for a touch', async () => {
    const legacy = connectStore(true)
    legacy.objects.set(ID, stale(60_000))
    const repository = new SessionRepository({ store: fromCallbackStore(legacy.store) })
    const session = await repository.load(ID)
    expect(session?.data).toMatchObject({ user: 'alice' })
    expect(session!.expiresAt).toBeGreaterThan(Date.now())
    expect(await repository.save(session!)).toBe('touched')
    expect(legacy.touched).toEqual([ID])
    // and a change to it is saved, not refused as "gone"
    ;(session!.data as Record<string, unknown>).cart = ['book']
    expect(await repository.save(session!)).toBe('saved')
    expect(JSON.parse(legacy.objects.get(ID)!)).toMatchObject({ user: 'alice', cart: ['book'] })
  })

  it('a store without touch is rewritten on every touch, so its stored expiry is the truth', async () => {
    const legacy = connectStore(false)
    legacy.objects.set(ID, stale(60_000))
    const repository = new SessionRepository({ store: fromCallbackStore(legacy.store) })
    expect(await repository.load(ID)).toBeUndefined()
  })
})
