/**
 * Where @sessionkit/express differs from express-session on purpose (README: "Differences from
 * express-session"): each difference runs on both and asserts what each one does.
 */
import { describe, expect, it } from 'vitest'
import {
  cb,
  cookieOf,
  counter,
  createServer,
  get,
  IMPLEMENTATIONS,
  peer,
  record,
  seen,
  sidOf,
  turns,
} from './harness'

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

  it('a sessionkit store: a stored session without cookie loads with the configured cookie (express-session answers 500; with a connect store so does ours, see loaded-session.test.ts)', async () => {
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

  it.each([
    ['name', 'my session'],
    ['name', 'sid;x'],
    ['name', 'sïd'],
    ['key', 'a=b'],
  ])(
    'an invalid cookie %s (%j) throws at setup; express-session answers 200 without the cookie and errors after',
    async (option, value) => {
      const s = createServer(peer, { [option]: value }, counter())
      const res = await get(s)
      await turns()
      expect([res.status, res.headers['set-cookie'], s.errors]).toEqual([
        200,
        undefined,
        ['argument name is invalid'],
      ])
      expect(() => ours({ secret: 'x', [option]: value })).toThrow(
        expect.objectContaining({
          name: 'SessionError',
          code: 'INVALID_OPTIONS',
          message: expect.stringContaining(`${option} option is invalid`),
        }),
      )
    },
  )

  it("an app's own store.regenerate that destroys and generates: the old id is destroyed a second time (express-session: once)", async () => {
    const run = async (impl: any) => {
      const store = new impl.MemoryStore()
      store.regenerate = function (this: any, req: any, done: (err?: unknown) => void) {
        const user = req.session.user
        this.destroy(req.sessionID, (err: unknown) => {
          this.generate(req)
          req.session.user = user
          done(err)
        })
      }
      const s = createServer(impl, { store, resave: false, saveUninitialized: false }, (req, res) => {
        if (req.url === '/login') req.session.user = 'ann'
        if (req.url === '/login') return res.end()
        req.session.regenerate(() => res.end(String(req.session.user)))
      })
      const login = await get(s, '/login')
      const calls: string[] = []
      record(store, calls)
      const res = await get(s, '/regen', cookieOf(login))
      return [res.text, calls]
    }
    expect(await run(peer)).toEqual(['ann', ['get', 'destroy', 'set']])
    expect(await run(ours)).toEqual(['ann', ['get', 'destroy', 'destroy', 'set']])
  })
})
