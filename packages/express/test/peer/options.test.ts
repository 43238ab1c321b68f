/**
 * express-session's own test suite, side by side. Here: options: proxy, cookie, genid, name, rolling, resave, saveUninitialized, secret, unset.
 * Each scenario runs on express-session and on @sessionkit/express; what the client, the store
 * and the server's error channel saw must be the same. The scenarios follow the peer's tests
 * (none of its code).
 */
import { describe } from 'vitest'
import { cookieOf, createServer, get, lengthOf, record, seen, sideBySide, turns } from './harness'

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
