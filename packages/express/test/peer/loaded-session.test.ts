/**
 * How a session loaded from the store becomes `req.session`, side by side with express-session:
 * a stored object without `cookie`, `touch()`, a `Date` in `cookie.expires`, and the store's
 * `createSession` / `regenerate` when the app overrides them.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { cookieOf, counter, createServer, get, IMPLEMENTATIONS, peer, sideBySide, sidOf } from './harness'

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
    // connect-redis and others extend express-session's own Store, also under our middleware.
    ["a connect store on express-session's Store", () => jsonStore(peer)],
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
    ["a connect store on express-session's Store", () => jsonStore(peer)],
  ])(
    '%s whose regenerate the app overrides (to keep data) is what req.session.regenerate calls',
    async (_label, make) => {
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
            res.end(
              `${String(err ?? '')}${req.session.user} ${req.sessionID !== before} ${req.session.id === req.sessionID}`,
            ),
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
    },
  )
})

/** Expires minus the response's Date header, in whole seconds; `null` without a cookie. */
const expiresIn = (res: any): number | null => {
  const line = res.headers['set-cookie']?.[0] as string | undefined
  const expires = line?.match(/Expires=([^;]+)/)?.[1]
  return expires ? Math.round((Date.parse(expires) - Date.parse(res.headers.date)) / 1000) : null
}
const STORES: [string, (impl: any) => any][] = [
  ['session.MemoryStore', (impl) => new impl.MemoryStore()],
  ['a connect store', jsonStore],
]

describe.each(STORES)('touch() and cookie.expires, side by side (%s)', (_label, make) => {
  // Expires and the Date header have whole seconds, remaining maxAge is rounded: a request
  // crossing a second (or a half second) would differ by one between two runs. Only Date is
  // frozen; sockets and timers stay real.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.UTC(2026, 0, 15, 12, 0, 0, 250))
  })
  afterEach(() => {
    vi.useRealTimers()
  })
  sideBySide({
    'touch() after a shorter maxAge: the cookie and the stored session expire at the new lifetime': async (
      impl,
    ) => {
      const store = make(impl)
      const s = createServer(impl, { store, cookie: { maxAge: 3_600_000 }, resave: false }, (req, res) => {
        if (req.url === '/short') {
          req.session.cookie.maxAge = 60_000
          req.session.touch()
          req.session.short = true
        } else req.session.n = (req.session.n ?? 0) + 1
        res.end(String(Math.round(req.session.cookie.maxAge / 1000)))
      })
      const first = await get(s)
      const short = await get(s, '/short', cookieOf(first))
      const later = await get(s, '/', cookieOf(first))
      return [expiresIn(first), short.text, expiresIn(short), later.text, expiresIn(later)]
    },
    'touch() resets the expiry to originalMaxAge from now': async (impl) => {
      const store = make(impl)
      const s = createServer(impl, { store, resave: false }, (req, res) => {
        req.session.cookie.originalMaxAge = 120_000
        req.session.touch()
        req.session.hit = true
        res.end(`${Math.round(req.session.cookie.maxAge / 1000)} ${req.session.cookie.originalMaxAge}`)
      })
      const res = await get(s)
      return [res.text, expiresIn(res)]
    },
    'a Date in the cookie option gives that absolute Expires, and counts down on a loaded session': async (
      impl,
    ) => {
      const store = make(impl)
      const at = new Date(Date.now() + 7_200_000)
      const s = createServer(impl, { store, cookie: { expires: at }, resave: false }, (req, res) => {
        req.session.n = (req.session.n ?? 0) + 1
        res.end(String(Math.round(req.session.cookie.maxAge / 1000)))
      })
      const first = await get(s)
      const second = await get(s, '/', cookieOf(first))
      return [first.text, expiresIn(first), second.text, expiresIn(second)]
    },
    'a Date set on req.session.cookie.expires gives that absolute Expires': async (impl) => {
      const store = make(impl)
      const s = createServer(impl, { store, resave: false }, (req, res) => {
        req.session.cookie.expires = new Date(Date.now() + 3 * 86_400_000)
        req.session.n = 1
        res.end()
      })
      const first = await get(s)
      return [expiresIn(first), expiresIn(await get(s, '/', cookieOf(first)))]
    },
  })
})
