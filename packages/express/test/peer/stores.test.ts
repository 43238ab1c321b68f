/**
 * express-session's own test suite, side by side. Here: stores: synchronous, silent on missing ids, failing, connect-store call sequences.
 * Each scenario runs on express-session and on @sessionkit/express; what the client, the store
 * and the server's error channel saw must be the same. The scenarios follow the peer's tests
 * (none of its code).
 */
import { describe } from 'vitest'
import { cb, cookieOf, counter, createServer, get, seen, sideBySide, sidOf, turns } from './harness'

describe('stores', () => {
  /** Callbacks answered synchronously, as some stores do. */
  const syncStore = (impl: any) => {
    const sessions = new Map<string, string>()
    return Object.assign(new impl.Store(), {
      get: (sid: string, done: (e: null, s?: unknown) => void) => {
        const raw = sessions.get(sid)
        done(null, raw === undefined ? undefined : JSON.parse(raw))
      },
      set: (sid: string, sess: unknown, done: (e: null) => void) => {
        sessions.set(sid, JSON.stringify(sess))
        done(null)
      },
      destroy: (sid: string, done: (e: null) => void) => {
        sessions.delete(sid)
        done(null)
      },
    })
  }
  /** A store that never calls back for a missing id, parses JSON and drops expired sessions. */
  const smartStore = (impl: any, calls: string[]) => {
    const sessions = new Map<string, string>()
    return Object.assign(new impl.Store(), {
      get: (sid: string, done: (e: null, s?: unknown) => void) => {
        calls.push('get')
        const raw = sessions.get(sid)
        if (raw === undefined) return
        const sess = JSON.parse(raw)
        setImmediate(done, null, sess)
      },
      set: (sid: string, sess: unknown, done: (e: null) => void) => {
        calls.push('set')
        sessions.set(sid, JSON.stringify(sess))
        setImmediate(done, null)
      },
      destroy: (sid: string, done: (e: null) => void) => {
        calls.push('destroy')
        sessions.delete(sid)
        setImmediate(done, null)
      },
    })
  }
  sideBySide({
    'a synchronous store: save': async (impl) => {
      const s = createServer(impl, { store: syncStore(impl) }, (req, res) => {
        req.session.count = (req.session.count || 0) + 1
        res.end(`hits: ${req.session.count}`)
      })
      const first = await get(s)
      return [seen(first), seen(await get(s, '/', cookieOf(first)))]
    },
    'a synchronous store: unset destroy after a write': async (impl) => {
      const s = createServer(impl, { store: syncStore(impl), unset: 'destroy' }, (req, res) => {
        const count = (req.session.count || 0) + 1
        req.session.count = count
        if (count > 1) {
          req.session = null
          res.write('destroyed\n')
        }
        res.end(`hits: ${count}`)
      })
      const first = await get(s)
      return [seen(first), seen(await get(s, '/', cookieOf(first)))]
    },
    'a store that never answers for a missing id': async (impl) => {
      const calls: string[] = []
      const s = createServer(impl, { store: smartStore(impl, calls), cookie: { maxAge: 2000 } }, (req, res) =>
        res.end(JSON.stringify(req.session.cookie.originalMaxAge)),
      )
      const first = await get(s)
      const second = await get(s, '/', cookieOf(first))
      return [seen(first), seen(second), calls]
    },
  })
})

describe('more corners', () => {
  /** A connect store recording calls, answering on the next turn. */
  const recordingStore = (impl: any, calls: string[], fail: Record<string, boolean> = {}) => {
    const sessions = new Map<string, string>()
    const answer = (name: string, done: (...args: any[]) => void, ...value: unknown[]) =>
      setImmediate(() => (fail[name] ? done(new Error(`${name} failed`)) : done(null, ...value)))
    return Object.assign(new impl.Store(), {
      get(sid: string, done: any) {
        calls.push('get')
        const raw = sessions.get(sid)
        answer('get', done, raw === undefined ? null : JSON.parse(raw))
      },
      set(sid: string, sess: unknown, done: any) {
        calls.push('set')
        if (!fail.set) sessions.set(sid, JSON.stringify(sess))
        answer('set', done)
      },
      destroy(sid: string, done: any) {
        calls.push('destroy')
        sessions.delete(sid)
        answer('destroy', done)
      },
      touch(_sid: string, _sess: unknown, done: any) {
        calls.push('touch')
        answer('touch', done)
      },
    })
  }
  sideBySide({
    'a streamed body (pipe) waits for the save': async (impl) => {
      const { Readable } = await import('node:stream')
      const calls: string[] = []
      const s = createServer(impl, { store: recordingStore(impl, calls) }, (req, res) => {
        req.session.user = 'bob'
        Readable.from(['hello, ', 'world']).pipe(res)
      })
      return [seen(await get(s)), calls]
    },
    'writeHead then end, flushHeaders then end': async (impl) => {
      const a = createServer(impl, {}, (req, res) => {
        req.session.user = 'bob'
        res.writeHead(201, { 'Content-Type': 'text/plain' })
        res.end('made')
      })
      const b = createServer(impl, {}, (req, res) => {
        req.session.user = 'bob'
        res.flushHeaders()
        res.end('flushed')
      })
      return [seen(await get(a)), seen(await get(b))]
    },
    'regenerate() over a connect store: the calls, and a destroy error': async (impl) => {
      const out: unknown[] = []
      for (const fail of [{}, { destroy: true }] as Record<string, boolean>[]) {
        const calls: string[] = []
        const s = createServer(impl, { store: recordingStore(impl, calls, fail) }, (req, res) => {
          if (req.url === '/') {
            req.session.user = 'bob'
            return res.end()
          }
          req.session.regenerate((err: any) => res.end(`${err?.message ?? ''}|${req.session?.user}`))
        })
        const first = await get(s)
        calls.length = 0
        const second = await get(s, '/again', cookieOf(first))
        await turns()
        out.push(seen(second), calls, s.errors)
      }
      return out
    },
    'rolling over a connect store touches, resave sets': async (impl) => {
      const out: unknown[] = []
      for (const options of [
        { rolling: true, resave: false },
        { rolling: true, resave: true },
      ]) {
        const calls: string[] = []
        const s = createServer(impl, { store: recordingStore(impl, calls), ...options }, (req, res) => {
          if (req.url === '/') req.session.user = 'bob'
          res.end()
        })
        const first = await get(s)
        calls.length = 0
        out.push(seen(await get(s, '/read', cookieOf(first))), calls)
      }
      return out
    },
    'a get error from a connect store, with code and status': async (impl) => {
      const calls: string[] = []
      const store = recordingStore(impl, calls)
      const s = createServer(impl, { store }, counter())
      const first = await get(s)
      store.get = (_sid: string, done: any) =>
        done(Object.assign(new Error('down'), { code: 'ECONNREFUSED', status: 503 }))
      return [seen(first), seen(await get(s, '/', cookieOf(first)))]
    },
    'the cookie from cookie-parser (signedCookies, cookies)': async (impl) => {
      const s = createServer(impl, {}, counter())
      const first = await get(s)
      const value = decodeURIComponent(cookieOf(first).split('=')[1]!)
      const signed = createServer(impl, {}, counter(), (req) => {
        req.signedCookies = { 'connect.sid': value.slice(2, value.lastIndexOf('.')) }
        delete req.headers.cookie
      })
      const raw = createServer(impl, {}, counter(), (req) => {
        req.cookies = { 'connect.sid': value }
        req.headers.cookie = 'foo=bar'
      })
      const unsigned = createServer(impl, {}, counter(), (req) => {
        req.cookies = { 'connect.sid': value.slice(2, value.lastIndexOf('.')) }
        req.headers.cookie = 'foo=bar'
      })
      return [(await get(signed)).text, (await get(raw)).text, (await get(unsigned)).text]
    },
    'req.session.cookie as JSON, and its keys': async (impl) => {
      const s = createServer(
        impl,
        { cookie: { maxAge: 1000, sameSite: 'lax', domain: 'a.test' } },
        (req, res) => {
          const json = JSON.parse(JSON.stringify(req.session.cookie))
          res.end(`${Object.keys(json)}|${Object.keys(req.session.cookie).sort()}|${json.originalMaxAge}`)
        },
      )
      return seen(await get(s))
    },
    'req.session.id and req.sessionID agree before and after regenerate': async (impl) => {
      const s = createServer(impl, {}, (req, res) => {
        const before = req.session.id === req.sessionID
        req.session.regenerate(() => res.end(`${before}|${req.session.id === req.sessionID}`))
      })
      return seen(await get(s))
    },
    'Store.load and createSession give a Session with a Cookie': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, counter())
      const first = await get(s)
      const loaded = await cb<any>((done) => store.load(sidOf(first), done))
      return [
        loaded instanceof impl.Session,
        loaded.cookie instanceof impl.Cookie,
        loaded.id === sidOf(first),
        Object.keys(loaded).sort(),
        typeof loaded.cookie.expires,
      ]
    },
  })
})
