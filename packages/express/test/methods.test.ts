import type { SessionChange } from '@sessionkit/core'
import { MemoryStore as BaseMemoryStore } from '@sessionkit/memory'
import { describe, expect, it } from 'vitest'
import { Cookie, Session } from '../src/index'
import { makeApp, request, sessionCookie } from './helpers'

const idOf = (cookie: string) => decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!

/** A real MemoryStore that also counts what reached it. */
class CountingStore extends BaseMemoryStore {
  saves: SessionChange[] = []
  touches = 0
  override async save(change: SessionChange) {
    this.saves.push(change)
    return super.save(change)
  }
  override async touch(id: string, meta: Parameters<BaseMemoryStore['touch']>[1]) {
    this.touches++
    return super.touch(id, meta)
  }
}

function app(extra: object = {}, store = new CountingStore()) {
  const a = makeApp({ store, ...extra }, (app) => {
    app.post('/login', (req, res) => {
      req.session.user = 'alice'
      req.session.cart = ['book']
      res.send('ok')
    })
    app.get('/shape', (req, res) =>
      res.json({
        keys: Object.keys(req.session),
        json: JSON.parse(JSON.stringify(req.session)),
        id: req.session.id,
        sessionID: req.sessionID,
        idEnumerable: Object.getOwnPropertyDescriptor(req.session, 'id')?.enumerable ?? false,
        isSession: req.session instanceof Session,
        isCookie: req.session.cookie instanceof Cookie,
        // `as unknown`: connect-redis's types (test/apps) load @types/express-session into this
        // program, whose clashing `sessionStore` declaration spoils the comparison's types.
        // A sessionkit store shows through a connect face: get/set/destroy/touch with callbacks.
        store: ['get', 'set', 'destroy', 'touch'].every(
          (m) => typeof (req.sessionStore as any)[m] === 'function',
        ),
      }),
    )
    app.get('/read', (req, res) =>
      res.json({ user: req.session?.user ?? null, cart: req.session?.cart ?? null }),
    )
    app.post('/regenerate', (req, res, next) => {
      const before = req.session
      req.session.regenerate((err) => {
        if (err) return next(err)
        res.json({ replaced: req.session !== before, user: req.session.user ?? null, id: req.sessionID })
      })
    })
    app.post('/regenerate-promise', async (req, res) => {
      await req.session.regenerate()
      req.session.user = 'bob'
      res.send(req.sessionID)
    })
    app.post('/destroy', (req, res, next) => {
      req.session.destroy((err) => (err ? next(err) : res.json({ gone: req.session === undefined })))
    })
    app.post('/destroy-promise', async (req, res) => {
      await req.session.destroy()
      res.json({ gone: req.session === undefined })
    })
    app.post('/reload', async (req, res, next) => {
      req.session.user = 'not saved'
      const other = await (a.middleware.repository.load(req.sessionID) as Promise<any>)
      other.data.cart = ['pen']
      await a.middleware.repository.save(other)
      req.session.reload((err) =>
        err ? next(err) : res.json({ user: req.session.user, cart: req.session.cart }),
      )
    })
    app.post('/reload-missing', (req, res) => {
      req.session.reload((err) => res.send(err ? `${err.code}: ${err.message}` : 'no error'))
    })
    app.post('/save-then-redirect', (req, res, next) => {
      req.session.user = 'carol'
      req.session.save((err) => (err ? next(err) : res.redirect('/read')))
    })
    app.post('/save-promise', async (req, res) => {
      req.session.user = 'dave'
      await req.session.save()
      res.send('ok')
    })
    app.get('/touch', (req, res) => {
      req.session.cookie.maxAge = 1_000
      const shortened = req.session.cookie.maxAge
      const chained = req.session.resetMaxAge() === req.session && req.session.touch() === req.session
      res.json({
        shortened,
        after: req.session.cookie.maxAge,
        original: req.session.cookie.originalMaxAge,
        chained,
      })
    })
    app.post('/change-id', async (req, res) => {
      const before = req.sessionID
      await req.session.changeId()
      res.json({ before, after: req.sessionID, id: req.session.id, user: req.session.user })
    })
    app.post('/change-id-cb', (req, res, next) => {
      req.session.changeId((err) => (err ? next(err) : res.send(req.sessionID)))
    })
    app.post('/principal', (req, res) => {
      req.session.user = String(req.query.name)
      req.session.setPrincipal(String(req.query.name))
      res.send('ok')
    })
    app.post('/revoke-others', async (req, res) => {
      res.json({ count: await req.session.revokeAll({ exceptCurrent: true }) })
    })
    app.post('/revoke-all', (req, res, next) => {
      req.session.revokeAll((err: unknown, count?: number) =>
        err ? next(err) : res.json({ count, gone: req.session === undefined }),
      )
    })
  })
  return Object.assign(a, { store })
}

declare module '../src/index' {
  interface SessionData {
    user: string
    cart: string[]
  }
}

describe('req.session shape', () => {
  it('only cookie and data are enumerable; id mirrors req.sessionID; sessionStore is a connect store', async () => {
    const a = app({ cookie: { maxAge: 60_000 } })
    const cookie = sessionCookie(await request(a).post('/login'))!
    const { body } = await request(a).get('/shape').set('Cookie', cookie)
    expect(body.keys).toEqual(['cookie', 'user', 'cart'])
    expect(Object.keys(body.json.cookie)).toEqual(
      expect.arrayContaining(['originalMaxAge', 'expires', 'httpOnly', 'path']),
    )
    expect(body.json.cookie.originalMaxAge).toBe(60_000)
    expect(body).toMatchObject({ id: idOf(cookie), sessionID: idOf(cookie), idEnumerable: false })
    expect(body).toMatchObject({ isSession: true, isCookie: true, store: true })
  })

  it('stored keys that clash with Session members are skipped on load', async () => {
    const a = app()
    const cookie = sessionCookie(await request(a).post('/login'))!
    const core = (await a.middleware.repository.load(idOf(cookie)))!
    ;(core.data as any).save = 'hostile'
    ;(core.data as any).regenerate = 1
    await a.middleware.repository.save(core)
    const { body } = await request(a).get('/shape').set('Cookie', cookie)
    expect(body.keys).toEqual(['cookie', 'user', 'cart'])
    expect((await request(a).post('/save-promise').set('Cookie', cookie)).text).toBe('ok')
  })
})

describe('methods', () => {
  it('regenerate(cb): new id, empty data, old record deleted, new cookie', async () => {
    const a = app()
    const cookie = sessionCookie(await request(a).post('/login'))!
    const res = await request(a).post('/regenerate').set('Cookie', cookie)
    expect(res.body).toMatchObject({ replaced: true, user: null })
    expect(res.body.id).not.toBe(idOf(cookie))
    expect(await a.middleware.repository.load(idOf(cookie))).toBeUndefined()
    const fresh = sessionCookie(res)!
    expect(idOf(fresh)).toBe(res.body.id)
  })

  it('regenerate() returns a promise', async () => {
    const a = app()
    const cookie = sessionCookie(await request(a).post('/login'))!
    const res = await request(a).post('/regenerate-promise').set('Cookie', cookie)
    const fresh = sessionCookie(res)!
    expect((await request(a).get('/read').set('Cookie', fresh)).body.user).toBe('bob')
  })

  it.each(['/destroy', '/destroy-promise'])(
    'destroy (%s) deletes now and removes req.session',
    async (path) => {
      const a = app()
      const cookie = sessionCookie(await request(a).post('/login'))!
      const res = await request(a).post(path).set('Cookie', cookie)
      expect(res.body.gone).toBe(true)
      expect(await a.middleware.repository.load(idOf(cookie))).toBeUndefined()
      expect((await request(a).get('/read').set('Cookie', cookie)).body.user).toBeNull()
    },
  )

  it('reload(cb) replaces req.session with the stored state', async () => {
    const a = app()
    const cookie = sessionCookie(await request(a).post('/login'))!
    const res = await request(a).post('/reload').set('Cookie', cookie)
    expect(res.body).toEqual({ user: 'alice', cart: ['pen'] })
  })

  it('reload of a session never saved fails with "failed to load session"', async () => {
    const a = app()
    expect((await request(a).post('/reload-missing')).text).toBe('SESSION_NOT_FOUND: failed to load session')
  })

  it('save(cb) then redirect: the next request sees the data, and nothing is written twice', async () => {
    const a = app()
    const res = await request(a).post('/save-then-redirect')
    expect(res.status).toBe(302)
    const cookie = sessionCookie(res)!
    expect(a.store.saves).toHaveLength(1)
    expect((await request(a).get('/read').set('Cookie', cookie)).body.user).toBe('carol')
  })

  it('save() returns a promise', async () => {
    const a = app()
    const cookie = sessionCookie(await request(a).post('/login'))!
    await request(a).post('/save-promise').set('Cookie', cookie)
    expect((await request(a).get('/read').set('Cookie', cookie)).body.user).toBe('dave')
  })

  it('cookie.maxAge counts down; touch()/resetMaxAge() reset it to originalMaxAge and chain', async () => {
    const a = app({ cookie: { maxAge: 60_000 } })
    const cookie = sessionCookie(await request(a).post('/login'))!
    const { body } = await request(a).get('/touch').set('Cookie', cookie)
    expect(body.shortened).toBeLessThanOrEqual(1_000)
    expect(body.original).toBe(1_000)
    expect(body.after).toBeGreaterThan(900)
    expect(body.chained).toBe(true)
  })

  it('changeId(): same data under a new id, the old id stops working, the cookie rotates', async () => {
    const a = app()
    const cookie = sessionCookie(await request(a).post('/login'))!
    const res = await request(a).post('/change-id').set('Cookie', cookie)
    expect(res.body.after).not.toBe(res.body.before)
    expect(res.body.id).toBe(res.body.after)
    expect(res.body.user).toBe('alice')
    const rotated = sessionCookie(res)!
    expect(idOf(rotated)).toBe(res.body.after)
    expect((await request(a).get('/read').set('Cookie', rotated)).body.user).toBe('alice')
    expect((await request(a).get('/read').set('Cookie', cookie)).body.user).toBeNull()
    const cb = await request(a).post('/change-id-cb').set('Cookie', rotated)
    expect(idOf(sessionCookie(cb)!)).toBe(cb.text)
  })

  it('setPrincipal + revokeAll({ exceptCurrent: true }) logs the other devices out', async () => {
    const a = app()
    const laptop = sessionCookie(await request(a).post('/principal?name=alice'))!
    const phone = sessionCookie(await request(a).post('/principal?name=alice'))!
    const bob = sessionCookie(await request(a).post('/principal?name=bob'))!
    expect((await request(a).post('/revoke-others').set('Cookie', laptop)).body.count).toBe(1)
    expect((await request(a).get('/read').set('Cookie', phone)).body.user).toBeNull()
    expect((await request(a).get('/read').set('Cookie', laptop)).body.user).toBe('alice')
    expect((await request(a).get('/read').set('Cookie', bob)).body.user).toBe('bob')
  })

  it('revokeAll(cb) includes the current session by default', async () => {
    const a = app()
    const laptop = sessionCookie(await request(a).post('/principal?name=alice'))!
    const phone = sessionCookie(await request(a).post('/principal?name=alice'))!
    const res = await request(a).post('/revoke-all').set('Cookie', laptop)
    expect(res.body).toEqual({ count: 2, gone: true })
    expect(sessionCookie(res)).toBeUndefined()
    for (const c of [laptop, phone])
      expect((await request(a).get('/read').set('Cookie', c)).body.user).toBeNull()
  })

  it('the repository on the middleware revokes a principal from admin code', async () => {
    const a = app()
    const cookie = sessionCookie(await request(a).post('/principal?name=erin'))!
    expect(await a.middleware.repository.destroyAllFor('erin')).toBe(1)
    expect((await request(a).get('/read').set('Cookie', cookie)).body.user).toBeNull()
  })
})
