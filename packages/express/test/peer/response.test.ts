/**
 * express-session's own test suite, side by side. Here: response timing: bodies, HEAD, streams, patched res.end/res.write.
 * Each scenario runs on express-session and on @sessionkit/express; what the client, the store
 * and the server's error channel saw must be the same. The scenarios follow the peer's tests
 * (none of its code).
 */
import { describe } from 'vitest'
import { cookieOf, createServer, get, peer, record, seen, sideBySide, turns, writePatch } from './harness'

describe('when the response ends', () => {
  /** A store whose `set` is recorded and answers on the next turn. */
  const slowSet = (impl: any, calls: string[]) => {
    const store = new impl.MemoryStore()
    const set = store.set
    store.set = function (this: unknown, ...args: any[]) {
      calls.push('set')
      setImmediate(() => set.apply(this, args))
    }
    return store
  }
  const respondWith =
    (write: (res: any) => void) =>
    (req: any, res: any): void => {
      req.session.hit = true
      write(res)
    }

  sideBySide({
    'saved the session (plain body)': async (impl) => {
      const calls: string[] = []
      const s = createServer(
        impl,
        { store: slowSet(impl, calls) },
        respondWith((res) => res.end('saved')),
      )
      return [seen(await get(s)), calls]
    },
    'saved the session (empty body with Content-Length)': async (impl) => {
      const calls: string[] = []
      const s = createServer(
        impl,
        { store: slowSet(impl, calls) },
        respondWith((res) => {
          res.setHeader('Content-Length', '0')
          res.end()
        }),
      )
      return [seen(await get(s)), calls]
    },
    'saved the session (write then end, with Content-Length)': async (impl) => {
      const calls: string[] = []
      const s = createServer(
        impl,
        { store: slowSet(impl, calls) },
        respondWith((res) => {
          res.setHeader('Content-Length', '12')
          res.write('hello, ')
          res.end('world')
        }),
      )
      return [seen(await get(s)), calls]
    },
    'saved the session (chunked write then end)': async (impl) => {
      const calls: string[] = []
      const s = createServer(
        impl,
        { store: slowSet(impl, calls) },
        respondWith((res) => {
          res.write('hello, ')
          res.end('world')
        }),
      )
      return [seen(await get(s)), calls]
    },
    'saved the session (Buffer body with Content-Length)': async (impl) => {
      const calls: string[] = []
      const s = createServer(
        impl,
        { store: slowSet(impl, calls) },
        respondWith((res) => {
          res.setHeader('Content-Length', '13')
          res.end(Buffer.from('session saved'))
        }),
      )
      return [seen(await get(s)), calls]
    },
    'HEAD request': async (impl) => {
      const calls: string[] = []
      const s = createServer(
        impl,
        { store: slowSet(impl, calls) },
        respondWith((res) => res.end('body')),
      )
      const { default: request } = await import('supertest')
      const res = await request(s.server).head('/')
      return [res.status, res.headers['set-cookie']?.length, calls]
    },
    'a utf-8 body with a multi-byte last character': async (impl) => {
      const s = createServer(impl, {}, (req, res) => {
        req.session.hit = true
        res.setHeader('Content-Length', Buffer.byteLength('héllo ✓'))
        res.end('héllo ✓')
      })
      return seen(await get(s))
    },
    'a body given with an encoding': async (impl) => {
      const s = createServer(impl, {}, (req, res) => {
        req.session.hit = true
        res.setHeader('Content-Length', '5')
        res.end('68656c6c6f', 'hex')
      })
      return seen(await get(s))
    },
    'res.end with a callback': async (impl) => {
      const s = createServer(impl, {}, (req, res) => {
        req.session.hit = true
        res.end('done', () => {
          s.errors.push('callback')
        })
      })
      const res = await get(s)
      await turns()
      return [seen(res), s.errors]
    },
    'res.write patched before the middleware (write after end throws)': async (impl) => {
      const s = createServer(
        impl,
        {},
        (req, res) => {
          req.session.hit = true
          res.write('hello, ')
          res.end('world')
        },
        (_req, res) => writePatch(res),
      )
      return seen(await get(s))
    },
    'res.write patched after the middleware': async (impl) => {
      const s = createServer(impl, {}, (req, res) => {
        writePatch(res)
        req.session.hit = true
        res.write('hello, ')
        res.end('world')
      })
      return seen(await get(s))
    },
    'nothing to save or touch: the response has ended when res.end returns': async (impl) => {
      const ended: boolean[] = []
      const run = async (touch: boolean) => {
        // The peer's connect store for both: ours drives it as express-session does.
        const store = new peer.MemoryStore()
        if (!touch) store.touch = undefined
        const s = createServer(impl, { store, resave: false, saveUninitialized: false }, (req, res) => {
          if (req.url === '/login') req.session.user = 'ada'
          res.end('body')
          ended.push(res.writableEnded)
        })
        const cookie = cookieOf(await get(s, '/login'))
        return seen(await get(s, '/read', cookie))
      }
      // With a store that touches, the last byte waits for the touch, as with the peer.
      return [await run(false), await run(true), ended]
    },
    'a change made after res.end is not what the store gets (recording connect store)': async (impl) => {
      const store = new peer.MemoryStore()
      const calls: string[] = []
      record(store, calls)
      const s = createServer(impl, { store, resave: false, saveUninitialized: false }, (req, res) => {
        if (req.url === '/set') {
          req.session.n = 1
          res.end('set')
          req.session.n = 2
          return
        }
        res.end(String(req.session.n))
      })
      const cookie = cookieOf(await get(s, '/set'))
      return [(await get(s, '/read', cookie)).text, calls]
    },
    'store.touch replaced or added after the middleware was made': async (impl) => {
      const seen: string[][] = []
      for (const hadTouch of [true, false]) {
        const store = new peer.MemoryStore()
        if (!hadTouch) store.touch = undefined
        const s = createServer(impl, { store, resave: false, saveUninitialized: false }, (req, res) => {
          if (req.url === '/login') req.session.user = 'ada'
          res.end('ok')
        })
        const cookie = cookieOf(await get(s, '/login'))
        const calls: string[] = []
        // express-session decides once whether the store touches, and calls what is there then.
        store.touch = (_sid: string, _session: unknown, done: () => void) => {
          calls.push('replaced touch')
          done()
        }
        await get(s, '/read', cookie)
        seen.push(calls)
      }
      return seen
    },
    'a second res.end errors as on a plain server': async (impl) => {
      let error: string | undefined
      const s = createServer(impl, {}, (_req, res) => {
        res.end()
        try {
          res.setHeader('Content-Length', '3')
          res.end('foo')
        } catch (err) {
          error = (err as Error).message
        }
      })
      return [seen(await get(s)), error]
    },
  })
})
