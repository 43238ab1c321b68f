/**
 * How a session loaded from the store becomes `req.session`, side by side with express-session:
 * a stored object without `cookie`, `touch()`, a `Date` in `cookie.expires`, and the store's
 * `createSession` / `regenerate` when the app overrides them.
 */
import { describe, expect, it } from 'vitest'
import { cb, cookieOf, counter, createServer, get, IMPLEMENTATIONS, peer, seen, sidOf, turns } from './harness'

/** A connect store keeping JSON strings (as connect-redis does), not a sessionkit store. */
function jsonStore(impl: any) {
  const sessions = new Map<string, string>()
  return Object.assign(new impl.Store(), {
    sessions,
    get(sid: string, done: (err: unknown, s?: unknown) => void) {
      const raw = sessions.get(sid)
      setImmediate(done, null, raw === undefined ? null : JSON.parse(raw))
    },
    set(sid: string, session: unknown, done: () => void) {
      sessions.set(sid, JSON.stringify(session))
      setImmediate(done)
    },
    destroy(sid: string, done: () => void) {
      sessions.delete(sid)
      setImmediate(done)
    },
  })
}

describe('a loaded session, side by side', () => {
  it('a connect store answering an object without cookie fails the request with the same error', async () => {
    const run = async (impl: any) => {
      const store = jsonStore(impl)
      const s = createServer(impl, { store }, counter())
      const first = await get(s)
      store.sessions.set(sidOf(first), JSON.stringify({ foo: 'bar' }))
      const second = await get(s, '/', cookieOf(first))
      // With a cookie, the same object loads.
      store.sessions.set(sidOf(first), JSON.stringify({ foo: 'bar', cookie: { originalMaxAge: null } }))
      const third = await get(s, '/', cookieOf(first))
      return [second.status, second.text, third.status]
    }
    const theirs = await run(peer)
    expect(theirs).toEqual([500, expect.stringMatching(/Cannot read prop.*expires/), 200])
    expect(await run(IMPLEMENTATIONS[1]![1])).toEqual(theirs)
  })

  it.each([
    ['a connect store', jsonStore],
    ['session.MemoryStore', (impl: any) => new impl.MemoryStore()],
  ])('%s whose createSession the app overrides is called on load and on reload', async (_label, make) => {
    const run = async (impl: any) => {
      const store = make(impl)
      const calls: string[] = []
      const base = store.createSession
      store.createSession = function (this: unknown, req: any, sess: any) {
        calls.push(`createSession ${typeof sess.cookie.expires} ${sess.legacy ?? '-'}`)
        sess.migrated = sess.legacy ?? 'none' // a stored shape moved on load
        return base.call(this, req, sess)
      }
      const s = createServer(impl, { store, resave: false, saveUninitialized: false }, (req, res) => {
        if (req.url === '/login') {
          req.session.legacy = 'v1'
          return res.end('in')
        }
        const seenOnLoad = req.session.migrated
        req.session.reload((err: unknown) =>
          res.end(`${String(err ?? '')}${seenOnLoad}/${req.session.migrated}/${typeof req.session.save}`),
        )
      })
      const login = await get(s, '/login')
      const res = await get(s, '/', cookieOf(login))
      return [res.status, res.text, calls]
    }
    const theirs = await run(peer)
    expect(theirs).toEqual([200, 'v1/v1/function', ['createSession string v1', 'createSession string v1']])
    expect(await run(IMPLEMENTATIONS[1]![1])).toEqual(theirs)
  })

  it.each([
    ['a connect store', jsonStore],
    ['session.MemoryStore', (impl: any) => new impl.MemoryStore()],
  ])('%s whose regenerate the app overrides (to keep data) is what req.session.regenerate calls', async (_label, make) => {
    const run = async (impl: any) => {
      const store = make(impl)
      const calls: string[] = []
      store.regenerate = function (this: any, req: any, done: (err?: unknown) => void) {
        calls.push('regenerate')
        const user = req.session.user
        this.destroy(req.sessionID, (err: unknown) => {
          this.generate(req)
          req.session.user = user
          done(err)
        })
      }
      const s = createServer(impl, { store, resave: false, saveUninitialized: false }, (req, res) => {
        if (req.url === '/login') {
          req.session.user = 'ann'
          return res.end('in')
        }
        if (req.url === '/me') return res.end(String(req.session.user))
        const before = req.sessionID
        req.session.regenerate((err: unknown) =>
          res.end(`${String(err ?? '')}${req.session.user} ${req.sessionID !== before} ${req.session.id === req.sessionID}`),
        )
      })
      const login = await get(s, '/login')
      const regen = await get(s, '/regen', cookieOf(login))
      const old = await get(s, '/me', cookieOf(login))
      const now = await get(s, '/me', cookieOf(regen))
      return [regen.text, old.text, now.text, calls]
    }
    const theirs = await run(peer)
    expect(theirs).toEqual(['ann true true', 'undefined', 'ann', ['regenerate']])
    expect(await run(IMPLEMENTATIONS[1]![1])).toEqual(theirs)
  })
})
