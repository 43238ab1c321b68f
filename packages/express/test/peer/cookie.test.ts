/**
 * express-session's own test suite, side by side. Here: req.session.cookie: attributes, getters and setters, invalid expiry.
 * Each scenario runs on express-session and on @sessionkit/express; what the client, the store
 * and the server's error channel saw must be the same. The scenarios follow the peer's tests
 * (none of its code).
 */
import { describe, vi } from 'vitest'
import { cookieOf, createServer, get, seen, sideBySide, turns } from './harness'

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
      // Frozen for the two reads: `originalMaxAge` is expires minus now, and a millisecond
      // passing between them would make it -11 on one implementation and -10 on the other.
      vi.useFakeTimers({ toFake: ['Date'] })
      cookie.expires = new Date(Date.now() - 10)
      const b = shapeOf(cookie)
      vi.useRealTimers()
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
