/**
 * express-session's own test suite, side by side. Here: req.session and its methods, and what apps do to it.
 * Each scenario runs on express-session and on @sessionkit/express; what the client, the store
 * and the server's error channel saw must be the same. The scenarios follow the peer's tests
 * (none of its code).
 */
import { describe } from 'vitest'
import { cb, cookieOf, createServer, get, lengthOf, record, seen, sideBySide, sidOf, turns } from './harness'

describe('req.session', () => {
  sideBySide({
    'persists, and store.load gives it back': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, (req, res) => {
        req.session.count = (req.session.count || 0) + 1
        res.end(`hits: ${req.session.count}`)
      })
      const first = await get(s)
      const loaded = await cb<any>((done) => store.load(sidOf(first), done))
      return [
        seen(first),
        loaded.count,
        loaded.constructor.name,
        typeof loaded.save,
        seen(await get(s, '/', cookieOf(first))),
      ]
    },
    'sets the cookie only when modified': async (impl) => {
      let modify = true
      const s = createServer(impl, {}, (req, res) => {
        if (modify) req.session.count = (req.session.count || 0) + 1
        res.end(String(req.session.count))
      })
      const first = await get(s)
      const second = await get(s, '/', cookieOf(first))
      modify = false
      const third = await get(s, '/', cookieOf(second))
      modify = true
      return [first, second, third, await get(s, '/', cookieOf(second))].map(seen)
    },
    'is absent while the store is disconnected, back after connect': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, (req, res) => res.end(typeof req.session))
      store.emit('disconnect')
      const during = await get(s)
      store.emit('connect')
      return [seen(during), seen(await get(s))]
    },
    'destroy() removes req.session and sets no cookie': async (impl) => {
      const s = createServer(impl, {}, (req, res) => {
        req.session.destroy((err: unknown) => {
          if (err) res.statusCode = 500
          res.end(String(req.session))
        })
      })
      return seen(await get(s))
    },
    'destroy() of a loaded session calls store.destroy and no cookie follows': async (impl) => {
      const store = new impl.MemoryStore()
      const calls: string[] = []
      const s = createServer(impl, { store }, (req, res) => {
        if (req.url === '/') {
          req.session.user = 'bob'
          return res.end()
        }
        req.session.destroy((err: unknown) => res.end(`${err ?? ''}|${typeof req.session}`))
      })
      const first = await get(s)
      record(store, calls)
      const out = seen(await get(s, '/logout', cookieOf(first)))
      return [out, calls, await lengthOf(store)]
    },
    'destroy() passes the store error to its callback': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, (req, res) => {
        if (req.url === '/') {
          req.session.user = 'bob'
          return res.end()
        }
        store.destroy = (_sid: string, done: (err: Error) => void) => done(new Error('boom!'))
        req.session.destroy((err: any) => res.end(`${err?.message}|${typeof req.session}`))
      })
      const first = await get(s)
      const res = await get(s, '/logout', cookieOf(first))
      await turns()
      return [seen(res), s.errors]
    },
    'regenerate() gives a new id and cookie': async (impl) => {
      const store = new impl.MemoryStore()
      const calls: string[] = []
      const s = createServer(impl, { store }, (req, res) => {
        const id = req.session.id
        req.session.user = 'bob'
        req.session.regenerate((err: unknown) => {
          if (err) res.statusCode = 500
          res.end(`${req.session.id === id}|${req.session.user}|${req.sessionID === req.session.id}`)
        })
      })
      const first = await get(s)
      record(store, calls)
      const second = await get(s, '/', cookieOf(first))
      return [seen(first), seen(second), sidOf(second) !== sidOf(first), calls, await lengthOf(store)]
    },
    'reload() of a session missing from the store errors': async (impl) => {
      const store = new impl.MemoryStore()
      const calls: string[] = []
      const s = createServer(impl, { store }, (req, res) => {
        if (req.url === '/') {
          req.session.active = true
          return res.end('created')
        }
        store.clear(() => {
          record(store, calls)
          req.session.reload((err: any) => {
            res.statusCode = err ? 500 : 200
            res.end(err ? `${err.message}|${err.status}|${typeof req.session}` : '')
          })
        })
      })
      const first = await get(s)
      return [seen(await get(s, '/foo', cookieOf(first))), calls]
    },
    'reload() of a new session asks the store and errors': async (impl) => {
      const store = new impl.MemoryStore()
      const calls: string[] = []
      record(store, calls)
      const s = createServer(impl, { store, resave: false }, (req, res) => {
        req.session.reload((err: any) => res.end(err ? err.message : 'ok'))
      })
      return [seen(await get(s)), calls]
    },
    'reload() over and over after the session is gone (overridden reload left alone)': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store, resave: false }, (req, res) => {
        if (req.url === '/') {
          req.session.active = true
          return res.end('created')
        }
        store.clear(() => {
          let left = 20
          const again = () => {
            if (!--left) return res.end('ok')
            try {
              req.session.reload(again)
            } catch (err) {
              res.statusCode = 500
              res.end((err as Error).message)
            }
          }
          again()
        })
      })
      const first = await get(s)
      return seen(await get(s, '/foo', cookieOf(first)))
    },
    'an app-assigned req.session.reload is neither stored nor enumerable': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store, resave: false }, (req, res) => {
        req.session.user = 'bob'
        req.session.reload = () => 'mine'
        req.session.save = req.session.save.bind(req.session)
        res.end(`${Object.keys(req.session)}|${req.session.reload()}`)
      })
      const first = await get(s)
      const stored = await cb<any>((done) => store.get(sidOf(first), done))
      return [seen(first), Object.keys(stored)]
    },
    'save() stores before the callback': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, (req, res) => {
        req.session.hit = true
        req.session.save((err: any) => {
          if (err) return res.end(err.message)
          store.get(req.session.id, (e: any, sess: any) => res.end(e ? e.message : sess ? 'stored' : 'empty'))
        })
      })
      return seen(await get(s))
    },
    'save() replaces the end-of-request save': async (impl) => {
      const out: unknown[] = []
      for (const options of [{}, { saveUninitialized: false }, { resave: false, saveUninitialized: false }]) {
        const store = new impl.MemoryStore()
        const calls: string[] = []
        record(store, calls)
        const s = createServer(impl, { store, ...options }, (req, res) => {
          req.session.hit = true
          req.session.save((err: any) => res.end(err ? err.message : 'saved'))
        })
        const first = await get(s)
        out.push(seen(first), [...calls])
        calls.length = 0
        out.push(seen(await get(s, '/', cookieOf(first))), [...calls])
      }
      return out
    },
    'save() after reload()': async (impl) => {
      const store = new impl.MemoryStore()
      const calls: string[] = []
      record(store, calls)
      const s = createServer(impl, { store }, (req, res) => {
        req.session.hit = true
        req.session.reload(() => {
          req.session.save((err: any) => res.end(err ? err.message : 'saved'))
        })
      })
      const first = await get(s)
      const firstCalls = [...calls]
      calls.length = 0
      return [seen(first), firstCalls, seen(await get(s, '/', cookieOf(first))), calls]
    },
    'save() passes a set error to its callback': async (impl) => {
      const store = new impl.MemoryStore()
      store.set = (_sid: string, _sess: unknown, done: (err: Error) => void) => done(new Error('boom!'))
      const s = createServer(impl, { store, resave: false, saveUninitialized: false }, (req, res) => {
        req.session.hit = true
        req.session.save((err: any) => res.end(`${err?.message}`))
      })
      const res = await get(s)
      await turns()
      return [seen(res), s.errors]
    },
    'touch() resets the stored expiry': async (impl) => {
      const store = new impl.MemoryStore()
      // touchAfter: 0 (ignored by express-session): touched on every request, as by the peer.
      const options = { store, resave: false, cookie: { maxAge: 60_000 }, touchAfter: 0 }
      const s = createServer(impl, options, (req, res) => {
        req.session.hit = true
        req.session.touch()
        res.end(String(req.session.touch() === req.session))
      })
      const first = await get(s)
      const before = await cb<any>((done) => store.get(sidOf(first), done))
      await new Promise((resolve) => setTimeout(resolve, 20)) // the expiry must be able to move
      const second = await get(s, '/', cookieOf(first))
      const after = await cb<any>((done) => store.get(sidOf(first), done))
      return [seen(first), seen(second), before.cookie.expires !== after.cookie.expires]
    },
  })
})

describe('app mutations', () => {
  /** Logs in on `/`, then runs `mutate` on the next request; reports what the client and the store saw. */
  const afterLogin = async (impl: any, options: object, mutate: (req: any, res: any) => void) => {
    const store = new impl.MemoryStore()
    const calls: string[] = []
    const s = createServer(
      impl,
      { store, resave: false, saveUninitialized: false, ...options },
      (req, res) => {
        if (req.url === '/') {
          req.session.user = 'bob'
          return res.end()
        }
        if (req.url === '/read') return res.end(String(req.session.user))
        mutate(req, res)
      },
    )
    const first = await get(s)
    record(store, calls)
    const second = await get(s, '/mutate', cookieOf(first))
    const secondCalls = [...calls]
    const third = await get(s, '/read', cookieOf(second.headers['set-cookie'] ? second : first))
    await turns()
    return [seen(second), secondCalls, seen(third), s.errors]
  }
  sideBySide({
    'only cookie.maxAge changes': (impl) =>
      afterLogin(impl, {}, (req, res) => {
        req.session.cookie.maxAge = 120_000
        res.end()
      }),
    'req.session deleted (unset keep)': (impl) =>
      afterLogin(impl, {}, (req, res) => {
        delete req.session
        res.end()
      }),
    'cookie.secure set on a plain-HTTP request': (impl) =>
      afterLogin(impl, {}, (req, res) => {
        req.session.cookie.secure = true
        req.session.user = 'eve'
        res.end()
      }),
    'a value removed': (impl) =>
      afterLogin(impl, {}, (req, res) => {
        delete req.session.user
        res.end()
      }),
    'regenerate then destroy in one request': (impl) =>
      afterLogin(impl, {}, (req, res) => {
        req.session.regenerate(() => {
          req.session.user = 'eve'
          req.session.destroy(() => res.end(String(req.session)))
        })
      }),
    'save() then a change': (impl) =>
      afterLogin(impl, {}, (req, res) => {
        req.session.user = 'eve'
        req.session.save(() => {
          req.session.user = 'mallory'
          res.end()
        })
      }),
  })
})
