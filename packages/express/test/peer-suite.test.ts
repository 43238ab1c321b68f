/**
 * express-session's own test suite, behaviour by behaviour, run side by side: every scenario
 * runs on express-session and on @sessionkit/express and what the client, the store and the
 * server's error channel saw must be the same.
 */
import { describe, expect, it } from 'vitest'
import {
  cb,
  cookieOf,
  createServer,
  get,
  IMPLEMENTATIONS,
  peer,
  record,
  seen,
  sidOf,
  turns,
} from './peer-harness'

type Scenario = (impl: any) => Promise<unknown>

/** Runs each scenario on both and expects the same observations. */
function sideBySide(scenarios: Record<string, Scenario>): void {
  it.each(Object.entries(scenarios))('%s', async (_name, scenario) => {
    const theirs = await scenario(peer)
    const ours = await scenario(IMPLEMENTATIONS[1]![1])
    expect(ours).toEqual(theirs)
  })
}

const counter = () => {
  let count = 0
  return (req: any, res: any) => {
    req.session.num = req.session.num || ++count
    res.end(`session ${req.session.num}`)
  }
}

const lengthOf = (store: any) => cb<number>((done) => store.length(done))

describe('the middleware', () => {
  sideBySide({
    'does nothing when req.session exists': async (impl) => {
      const s = createServer(impl, {}, undefined, (req) => {
        req.session = {}
      })
      return seen(await get(s))
    },
    'errors without a secret': async (impl) => seen(await get(createServer(impl, { secret: undefined }))),
    'takes the secret from req.secret': async (impl) => {
      const s = createServer(impl, { secret: undefined }, undefined, (req) => {
        req.secret = 'keyboard cat'
      })
      return seen(await get(s))
    },
    'creates a session and stores it': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, (req, res) => {
        req.session.active = true
        res.end('session active')
      })
      return [seen(await get(s)), await lengthOf(store)]
    },
    'loads the session of the cookie': async (impl) => {
      const s = createServer(impl, {}, counter())
      const first = await get(s)
      return [seen(first), seen(await get(s, '/', cookieOf(first)))]
    },
    "passes a get error on (500 with the store's message)": async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, (_req, res) => res.end('hello, world'))
      store.get = (_sid: string, done: (err: Error) => void) => done(new Error('boom!'))
      const first = await get(s)
      return [seen(first), seen(await get(s, '/', cookieOf(first)))]
    },
    'treats ENOENT from get as not found': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, counter())
      store.get = (_sid: string, done: (err: Error) => void) =>
        done(Object.assign(new Error('boom!'), { code: 'ENOENT' }))
      const first = await get(s)
      return [seen(first), seen(await get(s, '/', cookieOf(first)))]
    },
    'creates one session per cookie-less request': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, (req, res) => {
        const isNew = req.session.num === undefined
        req.session.num = 1
        res.end(isNew ? 'created' : 'updated')
      })
      const both = await Promise.all([get(s), get(s)])
      return [both.map(seen), Object.keys(await cb<object>((done) => store.all(done))).length]
    },
    'handles an empty req.url': async (impl) =>
      seen(
        await get(
          createServer(impl, {}, undefined, (req) => {
            req.url = ''
          }),
        ),
      ),
    'handles several res.end calls': async (impl) => {
      const s = createServer(impl, {}, (_req, res) => {
        res.setHeader('Content-Type', 'text/plain')
        res.end('Hello, world!')
        res.end()
      })
      const res = await get(s)
      return [seen(res), res.headers['content-type']]
    },
    'handles res.end(null)': async (impl) =>
      seen(await get(createServer(impl, {}, (_req, res) => res.end(null)))),
    'drops stored keys named like Session members': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, counter())
      const first = await get(s)
      const stored = await cb<any>((done) => store.get(sidOf(first), done))
      stored.save = 'nope'
      await cb((done) => store.set(sidOf(first), stored, done))
      return [seen(first), seen(await get(s, '/', cookieOf(first)))]
    },
    'has only the data and cookie enumerable': async (impl) => {
      const s = createServer(impl, {}, (req, res) => {
        req.session.test1 = 1
        req.session.test2 = 'b'
        const keys: string[] = []
        for (const key in req.session) keys.push(key)
        res.end(`${Object.keys(req.session).sort()}|${keys.sort()}`)
      })
      return seen(await get(s))
    },
    'saves nothing with a bogus req.sessionID': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, (req, res) => {
        req.sessionID = () => {}
        req.session.test1 = 1
        res.end()
      })
      return [seen(await get(s)), await lengthOf(store)]
    },
  })
})

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

describe('loading', () => {
  sideBySide({
    'a sid not in the store starts a new session with a new id': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, counter())
      const first = await get(s)
      await cb((done) => store.clear(done))
      const second = await get(s, '/', cookieOf(first))
      return [seen(first), seen(second), sidOf(second) !== sidOf(first)]
    },
    'an unsigned sid starts a new session without asking the store': async (impl) => {
      const store = new impl.MemoryStore()
      const calls: string[] = []
      const s = createServer(impl, { store, name: 'sessid' }, counter())
      const first = await get(s)
      record(store, calls)
      const second = await get(s, '/', `sessid=${sidOf(first)}`)
      const forged = await get(s, '/', cookieOf(first).replace(/...\./, '.'))
      return [seen(first), seen(second), seen(forged), sidOf(second) !== sidOf(first), calls]
    },
    'an expired session starts a new one and is gone from the store': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store, cookie: { maxAge: 5 } }, counter())
      const first = await get(s)
      await new Promise((resolve) => setTimeout(resolve, 20)) // the session must outlive its maxAge
      const second = await get(s, '/', cookieOf(first))
      const all = await cb<object>((done) => store.all(done))
      return [seen(first), seen(second), sidOf(second) !== sidOf(first), sidOf(first) in all]
    },
  })
})

describe('proxy option', () => {
  const secureCookie = { cookie: { secure: true, maxAge: 5_000 } }
  const withSecure = (req: any) => {
    const header = req.headers['x-secure']
    req.secure = header ? JSON.parse(header) : undefined
  }
  const respond = (req: any, res: any) => res.end(String(req.secure))
  sideBySide({
    'proxy: true trusts X-Forwarded-Proto (string, list, absent)': async (impl) => {
      const s = createServer(impl, { proxy: true, ...secureCookie })
      return [
        seen(await get(s).set('X-Forwarded-Proto', 'https')),
        seen(await get(s).set('X-Forwarded-Proto', 'https,http')),
        seen(await get(s).set('X-Forwarded-Proto', 'http,https')),
        seen(await get(s)),
      ]
    },
    'proxy: false ignores X-Forwarded-Proto and req.secure': async (impl) => {
      const s = createServer(impl, { proxy: false, ...secureCookie }, respond, withSecure)
      return [
        seen(await get(s).set('X-Forwarded-Proto', 'https')),
        seen(await get(s).set('X-Forwarded-Proto', 'https').set('X-Secure', 'true')),
      ]
    },
    'proxy unset uses req.secure': async (impl) => {
      const s = createServer(impl, secureCookie, respond, withSecure)
      return [
        seen(await get(s).set('X-Forwarded-Proto', 'https')),
        seen(await get(s).set('X-Forwarded-Proto', 'https').set('X-Secure', 'true')),
      ]
    },
  })
})

describe('cookie option', () => {
  const mountAt = (path: string) => (req: any) => {
    if (req.url.indexOf(path) === 0) {
      req.originalUrl = req.url
      req.url = req.url.slice(path.length)
    }
  }
  const withSecure = (req: any) => {
    req.secure = JSON.parse(req.headers['x-secure'])
  }
  sideBySide({
    'path /foo/bar scopes the session': async (impl) => {
      const s = createServer(impl, { cookie: { path: '/foo/bar' } })
      return [
        seen(await get(s)),
        seen(await get(s).set('Host', 'http://foo/bar')),
        seen(await get(s, '/foo/bar')),
        seen(await get(s, '/foo/bar/baz')),
        seen(await get(s, '/foo/barbaz')),
        seen(await get(s, '/foo/bar?x=1')),
      ]
    },
    'path scoping reads originalUrl when mounted': async (impl) => {
      const s = createServer(impl, { cookie: { path: '/foo/bar' } }, undefined, mountAt('/foo'))
      return [seen(await get(s, '/foo/bar')), seen(await get(s, '/foo/foo/bar'))]
    },
    "secure: 'auto' with proxy true / false / unset": async (impl) => {
      const auto = { cookie: { maxAge: 5, secure: 'auto' } }
      const trusted = createServer(impl, { proxy: true, ...auto })
      const untrusted = createServer(impl, { proxy: false, ...auto })
      const unset = createServer(impl, auto, (req, res) => res.end(String(req.secure)), withSecure)
      return [
        seen(await get(trusted).set('X-Forwarded-Proto', 'https')),
        seen(await get(untrusted).set('X-Forwarded-Proto', 'https')),
        seen(await get(unset).set('X-Secure', 'true')),
        seen(await get(unset).set('X-Secure', 'false')),
      ]
    },
    "sameSite: 'auto' follows the request": async (impl) => {
      const s = createServer(impl, { proxy: true, cookie: { sameSite: 'auto', secure: 'auto' } })
      return [seen(await get(s).set('X-Forwarded-Proto', 'https')), seen(await get(s))]
    },
    'cookie as a function of the request': async (impl) => {
      const s = createServer(impl, {
        cookie: (req: any) => ({ path: '/', maxAge: req.url === '/long' ? 1e9 : 1e3, sameSite: 'lax' }),
      })
      return [seen(await get(s, '/long')), seen(await get(s, '/short'))]
    },
  })
})

describe('genid, name, key', () => {
  sideBySide({
    'rejects a genid that is no function': async (impl) => {
      try {
        impl({ secret: 'x', genid: 'bogus!' })
        return 'no error'
      } catch (err) {
        return [(err as Error).constructor.name, (err as Error).message]
      }
    },
    'custom genid ids, escaped, given the request': async (impl) => [
      seen(await get(createServer(impl, { genid: () => 'apple' }))).cookie,
      cookieOf(await get(createServer(impl, { genid: () => 'apple' }))),
      cookieOf(await get(createServer(impl, { genid: () => '%' }))),
      cookieOf(await get(createServer(impl, { genid: (req: any) => req.url }), '/foo')),
    ],
    'name and key name the cookie': async (impl) => [
      seen(await get(createServer(impl, {}))).cookie,
      seen(await get(createServer(impl, { key: 'session_id' }))).cookie,
      seen(await get(createServer(impl, { name: 'session_id' }))).cookie,
      seen(await get(createServer(impl, { name: 'a', key: 'b' }))).cookie,
    ],
  })
})

describe('rolling, resave, saveUninitialized', () => {
  const bob = (req: any, res: any) => {
    req.session.user = 'bob'
    res.end()
  }
  /** Each request's status, cookie shape and store calls. */
  const steps = async (impl: any, options: object, respond: any, paths = ['/', '/', '/']) => {
    const store = new impl.MemoryStore()
    const calls: string[] = []
    record(store, calls)
    const s = createServer(impl, { store, ...options }, respond)
    const out: unknown[] = []
    let cookie: string | undefined
    for (const path of paths) {
      calls.length = 0
      const res = await get(s, path, cookie)
      if (res.headers['set-cookie']) cookie = cookieOf(res)
      out.push([seen(res), [...calls]])
    }
    await turns()
    return [out, s.errors]
  }
  const options = (extra: object) => ({ resave: false, saveUninitialized: false, ...extra })
  sideBySide({
    'rolling unset': (impl) => steps(impl, {}, bob),
    'rolling: true': (impl) => steps(impl, { rolling: true }, bob),
    'rolling, saveUninitialized: false, untouched': (impl) =>
      steps(impl, { rolling: true, saveUninitialized: false }, undefined),
    'rolling, saveUninitialized: true, untouched': (impl) =>
      steps(impl, { rolling: true, saveUninitialized: true }, undefined),
    'rolling, saveUninitialized: false, modified': (impl) =>
      steps(impl, { rolling: true, saveUninitialized: false }, bob),
    'resave unset (true)': (impl) => steps(impl, {}, bob),
    'resave: true': (impl) => steps(impl, { resave: true }, bob),
    'resave: false': (impl) => steps(impl, { resave: false }, bob),
    'resave: false saves a modified session': (impl) =>
      steps(
        impl,
        { resave: false },
        (req: any, res: any) => {
          if (req.url !== '/') req.session.token = req.url.slice(1)
          res.end(`token=${req.session.token ?? ''}`)
        },
        ['/a', '/', '/b'],
      ),
    'resave: false detects a nested "cookie" key as a change': (impl) =>
      steps(impl, { resave: false }, (req: any, res: any) => {
        req.session.user = req.session.user || {}
        req.session.user.name = 'bob'
        req.session.user.cookie = (req.session.user.cookie || 0) + 1
        res.end()
      }),
    'resave: false with a browser-session cookie': (impl) =>
      steps(impl, options({ cookie: {} }), (req: any, res: any) => {
        req.session.n = (req.session.n ?? 0) + 1
        res.end(String(req.session.n))
      }),
    'a touch error reaches next(err) after the response': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store, resave: false }, (req, res) => {
        req.session.hit = true
        res.end('session saved')
      })
      store.touch = (_sid: string, _sess: unknown, done: (err: Error) => void) => done(new Error('boom!'))
      const first = await get(s)
      const second = await get(s, '/', cookieOf(first))
      await turns()
      return [seen(first), seen(second), s.errors]
    },
    'saveUninitialized unset (true)': (impl) => steps(impl, {}, undefined, ['/']),
    'saveUninitialized: true': (impl) => steps(impl, { saveUninitialized: true }, undefined, ['/']),
    'saveUninitialized: false': (impl) => steps(impl, { saveUninitialized: false }, undefined, ['/']),
    'saveUninitialized: false saves a modified session': (impl) =>
      steps(impl, { saveUninitialized: false }, bob, ['/']),
    'saveUninitialized: false never touches an uninitialized session': (impl) =>
      steps(impl, { saveUninitialized: false }, undefined, ['/', '/']),
    'a set error reaches next(err) after the response': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store, saveUninitialized: true }, (_req, res) =>
        res.end('session saved'),
      )
      store.set = (_sid: string, _sess: unknown, done: (err: Error) => void) => done(new Error('boom!'))
      const res = await get(s)
      await turns()
      return [seen(res), s.errors]
    },
  })
})

describe('secret option', () => {
  const user = (req: any, res: any) => {
    if (req.session.user) res.end(`get:${JSON.stringify(req.session.user)}`)
    else {
      req.session.user = 'bob'
      res.end('set')
    }
  }
  sideBySide({
    'rejects an empty array': async (impl) => {
      try {
        impl({ secret: [] })
        return 'no error'
      } catch (err) {
        return (err as Error).message
      }
    },
    'a string and a Buffer sign and verify': async (impl) => {
      const out: unknown[] = []
      for (const secret of ['awesome cat', Buffer.from('0123456789abcdef0123456789abcdef')]) {
        const s = createServer(impl, { secret }, user)
        const first = await get(s)
        out.push(seen(first), seen(await get(s, '/', cookieOf(first))))
      }
      return out
    },
    'an array signs with the first and verifies with any': async (impl) => {
      const store = new impl.MemoryStore()
      const respond = (req: any, res: any) => {
        if (req.url === '/set') req.session.user = 'bob'
        res.end(String(req.session.user))
      }
      const both = createServer(impl, { secret: ['keyboard cat', 'nyan cat'], store }, respond)
      const nyan = createServer(impl, { secret: 'nyan cat', store }, respond)
      const signed = await get(both, '/set')
      const byNyan = await get(nyan, '/set')
      return [
        seen(await get(nyan, '/', cookieOf(signed))),
        seen(await get(both, '/', cookieOf(byNyan))),
        seen(await get(both, '/', cookieOf(signed))),
      ]
    },
  })
})

describe('unset option', () => {
  const unsetOnSecond = (req: any, res: any) => {
    req.session.count = (req.session.count || 0) + 1
    if (req.session.count === 2) req.session = null
    res.end()
  }
  const twice = async (impl: any, options: object) => {
    const store = new impl.MemoryStore()
    const s = createServer(impl, { store, ...options }, unsetOnSecond)
    const first = await get(s)
    const lengths = [await lengthOf(store)]
    const second = await get(s, '/', cookieOf(first))
    lengths.push(await lengthOf(store))
    return [seen(first), seen(second), lengths]
  }
  sideBySide({
    'rejects unknown values': async (impl) => {
      try {
        impl({ secret: 'x', unset: 'bogus!' })
        return 'no error'
      } catch (err) {
        return (err as Error).message
      }
    },
    'keep (default)': (impl) => twice(impl, {}),
    destroy: (impl) => twice(impl, { unset: 'destroy' }),
    'destroy of a new session sets no cookie': async (impl) => {
      const store = new impl.MemoryStore()
      const calls: string[] = []
      record(store, calls)
      const s = createServer(impl, { store, unset: 'destroy' }, (req, res) => {
        req.session = null
        res.end()
      })
      return [seen(await get(s)), await lengthOf(store), calls]
    },
    'a destroy error reaches next(err) after the response': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store, unset: 'destroy' }, (req, res) => {
        req.session = null
        res.end('session destroyed')
      })
      store.destroy = (_sid: string, done: (err: Error) => void) => done(new Error('boom!'))
      const res = await get(s)
      await turns()
      return [seen(res), s.errors]
    },
  })
})

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

describe('req.session.cookie', () => {
  /** Expires minus the Date header, in ms. */
  const expiresIn = (res: any) => {
    const line = res.headers['set-cookie']?.[0] as string | undefined
    const expires = line?.match(/Expires=([^;]+)/)?.[1]
    return expires ? Date.parse(expires) - Date.parse(res.headers.date) : undefined
  }
  sideBySide({
    'its fields serialize as attributes': async (impl) => {
      const s = createServer(impl, { proxy: true }, (req, res) => {
        req.session.cookie.httpOnly = false
        req.session.cookie.secure = true
        res.end()
      })
      return seen(await get(s).set('X-Forwarded-Proto', 'https'))
    },
    'defaults to a browser-session cookie, sent once': async (impl) => {
      const s = createServer(impl, { cookie: { path: '/admin' } })
      const first = await get(s, '/admin/foo')
      return [seen(await get(s, '/admin')), seen(first), seen(await get(s, '/admin', cookieOf(first)))]
    },
    'options override defaults, the session overrides options': async (impl) => {
      const cookie = { httpOnly: false, maxAge: 5000, path: '/admin', priority: 'high', secure: true }
      const s = createServer(impl, { cookie }, (req, res) => {
        req.session.cookie.secure = false
        res.end()
      })
      return seen(await get(s, '/admin'))
    },
    'an invalid cookie.expires option reaches next(err) after the response': async (impl) => {
      const s = createServer(impl, { cookie: { expires: new Date(Number.NaN) } })
      const res = await get(s, '/admin')
      await turns()
      return [seen(res), s.errors]
    },
    'cookie.expires set to an invalid date by the app': async (impl) => {
      const s = createServer(impl, { resave: false, saveUninitialized: false }, (req, res) => {
        req.session.user = 'bob'
        req.session.cookie.expires = new Date(Number.NaN)
        res.end('ok')
      })
      const res = await get(s)
      await turns()
      return [seen(res), s.errors]
    },
    'keeps cookies set before writeHead and in writeHead': async (impl) => {
      const before = createServer(impl, {}, (_req, res) => {
        res.setHeader('Set-Cookie', new impl.Cookie().serialize('previous', 'cookieValue'))
        res.end()
      })
      const inWriteHead = createServer(impl, {}, (_req, res) => {
        res.writeHead(200, { 'Set-Cookie': new impl.Cookie().serialize('previous', 'cookieValue') })
        res.end()
      })
      const strip = (res: any) =>
        (res.headers['set-cookie'] as string[]).map((l) => l.split(';')[0]!.split('=')[0])
      return [strip(await get(before)), strip(await get(inWriteHead))]
    },
    'originalMaxAge is the configured maxAge on every request': async (impl) => {
      const s = createServer(impl, { cookie: { maxAge: 2000 } }, (req, res) =>
        res.end(JSON.stringify(req.session.cookie.originalMaxAge)),
      )
      const first = await get(s)
      return [first.text, (await get(s, '/', cookieOf(first))).text]
    },
    'a Secure cookie is not sent over plain HTTP': async (impl) =>
      seen(await get(createServer(impl, { cookie: { secure: true } }))),
    'maxAge set by the app moves Expires': async (impl) => {
      const s = createServer(impl, { cookie: { maxAge: 2000 } }, (req, res) => {
        req.session.count = (req.session.count ?? 0) + 1
        if (req.session.count === 2) req.session.cookie.maxAge = 5000
        if (req.session.count === 3) req.session.cookie.maxAge = 3_000_000_000
        res.end(String(req.session.count))
      })
      const first = await get(s)
      // Expires and Date are whole seconds taken a moment apart: within one second below.
      const near = (res: any, ms: number) => {
        const delta = expiresIn(res)
        return delta !== undefined && delta <= ms && delta >= ms - 1000
      }
      const out: unknown[] = [near(first, 2000)]
      for (const ms of [2000, 5000, 3_000_000_000]) {
        const res = await get(s, '/', cookieOf(first))
        out.push(res.text, near(res, ms))
      }
      return out
    },
    'partitioned: unset, false, true': async (impl) => [
      seen(await get(createServer(impl, {}))).cookie,
      seen(await get(createServer(impl, { cookie: { partitioned: false } }))).cookie,
      seen(await get(createServer(impl, { cookie: { partitioned: true } }))).cookie,
    ],
    'getters and setters of the Cookie class': async (impl) => {
      const cookie = new impl.Cookie({ maxAge: 1000, domain: 'a.test', sameSite: 'strict' })
      const shapeOf = (c: any) => ({
        keys: Object.keys(c).sort(),
        json: Object.keys(JSON.parse(JSON.stringify(c))).sort(),
        originalMaxAge: c.originalMaxAge,
        maxAgeSign: Math.sign(c.maxAge),
      })
      const a = shapeOf(cookie)
      cookie.expires = new Date(Date.now() - 10)
      const b = shapeOf(cookie)
      cookie.maxAge = null
      const c = shapeOf(cookie)
      let thrown: string | undefined
      try {
        cookie.maxAge = 'x'
      } catch (err) {
        thrown = (err as Error).message
      }
      return [a, b, c, cookie.expires, thrown, cookie.serialize('n', 'v')]
    },
  })
})

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

describe('deliberate differences (README: Differences from express-session)', () => {
  const [, ours] = IMPLEMENTATIONS[1]!

  it("reload() makes the reloaded state the request's baseline: no cookie re-sent for it (express-session re-sends)", async () => {
    const run = async (impl: any) => {
      const store = new impl.MemoryStore()
      let cookie = ''
      const s: ReturnType<typeof createServer> = createServer(impl, { store }, (req, res) => {
        if (req.url === '/') {
          req.session.active = true
          return res.end('created')
        }
        req.session.url = req.url
        if (req.url === '/bar') return res.end(`saw ${req.session.url}`)
        get(s, '/bar', cookie).then(() => {
          record(store, calls)
          req.session.reload(() => res.end(`saw ${req.session.url}`))
        })
      })
      const calls: string[] = []
      cookie = cookieOf(await get(s))
      return [seen(await get(s, '/foo', cookie)), calls]
    }
    const [theirs, mine] = [await run(peer), await run(ours)]
    expect(theirs).toEqual([
      { status: 200, body: 'saw /bar', cookie: expect.stringMatching(/^connect.sid=/) },
      ['get', 'set'],
    ])
    // Saved all the same (resave defaults to true), but the data did not change since the reload.
    expect(mine).toEqual([{ status: 200, body: 'saw /bar', cookie: undefined }, ['get', 'set']])
  })

  it('reload() of a missing session: the same message, as a SessionError with code SESSION_NOT_FOUND', async () => {
    const run = async (impl: any) => {
      const s = createServer(impl, { resave: false }, (req, res) =>
        req.session.reload((err: any) => res.end(`${err.message}|${err.code}|${err instanceof Error}`)),
      )
      return (await get(s)).text
    }
    expect(await run(peer)).toBe('failed to load session|undefined|true')
    expect(await run(ours)).toBe('failed to load session|SESSION_NOT_FOUND|true')
  })

  it('cookie.expires in the past: Expires is now (1 ms ahead) rather than the date given; browsers drop both', async () => {
    const run = async (impl: any) => {
      const s = createServer(impl, {}, (req, res) => {
        req.session.cookie.expires = new Date(0)
        res.end()
      })
      const res = await get(s)
      const expires = Date.parse(/Expires=([^;]+)/.exec(res.headers['set-cookie']![0]!)![1]!)
      return expires <= Date.parse(res.headers.date!)
    }
    expect(await run(peer)).toBe(true)
    expect(await run(ours)).toBe(true)
    const s = createServer(ours, {}, (req, res) => {
      req.session.cookie.expires = new Date(0)
      res.end()
    })
    expect((await get(s)).headers['set-cookie']![0]).not.toContain('Expires=Thu, 01 Jan 1970')
  })

  it('expires = null: a browser-session cookie, not re-sent when modified (same as express-session)', async () => {
    const run = async (impl: any) => {
      const s = createServer(impl, {}, (req, res) => {
        req.session.cookie.expires = null
        req.session.hit = (req.session.hit || 0) + 1
        res.end()
      })
      const first = await get(s)
      return [seen(first), seen(await get(s, '/', cookieOf(first)))]
    }
    expect(await run(ours)).toEqual(await run(peer))
  })

  it('req.sessionID overwritten with another string is ignored (express-session cookies an id it never saved)', async () => {
    const run = async (impl: any) => {
      const s = createServer(impl, { resave: false, saveUninitialized: false }, (req, res) => {
        if (req.url === '/') {
          req.session.user = 'bob'
          return res.end()
        }
        if (req.url === '/read') return res.end(String(req.session.user))
        req.sessionID = 'another'
        req.session.user = 'eve'
        res.end()
      })
      const first = await get(s)
      const second = await get(s, '/mutate', cookieOf(first))
      return (await get(s, '/read', cookieOf(second))).text
    }
    expect(await run(peer)).toBe('undefined')
    expect(await run(ours)).toBe('eve')
  })

  it('a stored session without cookie loads with the configured cookie (express-session answers 500)', async () => {
    const run = async (impl: any) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, counter())
      const first = await get(s)
      await cb((done) => store.set(sidOf(first), { foo: 'bar' }, done))
      const second = await get(s, '/', cookieOf(first))
      return [second.status, second.text]
    }
    expect(await run(peer)).toEqual([500, expect.stringMatching(/Cannot read prop/)])
    expect(await run(ours)).toEqual([200, 'session 2'])
  })

  it('an id collision with a genid id retries with the next genid id; express-session overwrites the other session', async () => {
    const run = async (impl: any) => {
      const store = new impl.MemoryStore()
      const ids = ['taken', 'free']
      const s = createServer(impl, { store, genid: () => ids.shift() ?? 'spare' }, (req, res) => {
        req.session.n = 1
        res.end()
      })
      await cb((done) => store.set('taken', { cookie: { originalMaxAge: null }, owner: 'other' }, done))
      const res = await get(s)
      const other = await cb<any>((done) => store.get('taken', done))
      return [sidOf(res), other.owner ?? null]
    }
    expect(await run(peer)).toEqual(['taken', null])
    expect(await run(ours)).toEqual(['free', 'other'])
  })

  it('with a sessionkit store an unmodified session is touched at most every touchAfter; express-session touches each request', async () => {
    const run = async (impl: any) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store, resave: false }, (req, res) => {
        req.session.hit = true
        res.end()
      })
      const first = await get(s)
      const before = await cb<any>((done) => store.get(sidOf(first), done))
      await new Promise((resolve) => setTimeout(resolve, 20)) // the expiry must be able to move
      await get(s, '/', cookieOf(first))
      const after = await cb<any>((done) => store.get(sidOf(first), done))
      return before.cookie.expires === after.cookie.expires
    }
    expect(await run(peer)).toBe(false)
    expect(await run(ours)).toBe(true)
  })
})

/** express-session's test helper: a write after end throws. */
function writePatch(res: any): void {
  const end = res.end
  const write = res.write
  let ended = false
  res.end = function (this: unknown, ...args: unknown[]) {
    ended = true
    return end.apply(this, args)
  }
  res.write = function (this: unknown, ...args: unknown[]) {
    if (ended) throw new Error('write after end')
    return write.apply(this, args)
  }
}
