// The patterns of @fastify/session's README, each a small app run with the peer and with ours.
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import fastifyCookie from '@fastify/cookie'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import fastifySession from '../../src/index'
import { Client, parseSetCookie } from '../helpers'
import { cookieValue, listen, PLUGINS, SECRET, tracker } from './app'

const apps = tracker()
afterEach(() => apps.closeAll())

type Plugin = (typeof PLUGINS)[number][1]
type Options = Parameters<Plugin>[1] & Record<string, unknown>

async function serve(
  plugin: Plugin,
  options: Partial<Options>,
  routes: (fastify: FastifyInstance) => void,
  server: FastifyServerOptions = {},
): Promise<Client> {
  const fastify = apps.track(Fastify(server))
  fastify.register(fastifyCookie)
  fastify.register(plugin, { secret: SECRET, cookie: { secure: false }, ...options } as Options)
  routes(fastify)
  return new Client(await listen(fastify))
}

/** `cookie-signature`'s sign(), as express-session uses it. */
const sign = (value: string, secret: string) =>
  `${value}.${createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '')}`

/** A callback store (express-session's interface) over JSON, like connect-redis. */
function jsonStore(records = new Map<string, string>(), delay?: () => Promise<void>) {
  const later = (fn: () => void) => (delay ? delay().then(fn) : queueMicrotask(fn))
  return {
    records,
    get(id: string, cb: (err: unknown, value?: Record<string, unknown> | null) => void) {
      later(() => cb(null, records.has(id) ? JSON.parse(records.get(id)!) : null))
    },
    set(id: string, value: unknown, cb: (err?: unknown) => void) {
      records.set(id, JSON.stringify(value))
      later(() => cb())
    },
    destroy(id: string, cb: (err?: unknown) => void) {
      records.delete(id)
      later(() => cb())
    },
  }
}

describe.each(PLUGINS)('README patterns on %s', (name, plugin) => {
  const ours = name === '@sessionkit/fastify'

  it('login sets request.session.user; logout destroys (promise and callback forms)', async () => {
    const client = await serve(plugin, {}, (fastify) => {
      fastify.post('/login', async (request) => {
        request.session.user = { id: 'u1' }
        request.session.set('theme', 'dark')
        return { id: request.session.sessionId }
      })
      fastify.get('/me', async (request) => ({
        id: request.session.get('user')?.id ?? null,
        theme: request.session.get('theme') ?? null,
      }))
      fastify.get('/logout', async (request, reply) => {
        await request.session.destroy()
        return reply.redirect('/')
      })
      fastify.get('/logout-cb', (request, reply) => {
        request.session.destroy((err) => {
          if (err) reply.status(500).send('Internal Server Error')
          else reply.send({ session: request.session })
        })
      })
    })
    expect((await client.get('/me')).body).toEqual({ id: null, theme: null })
    await client.request('/login', { method: 'POST' })
    expect((await client.get('/me')).body).toEqual({ id: 'u1', theme: 'dark' })
    const loggedIn = client.jar.get('sessionId')!
    const out = await client.request('/logout', { redirect: 'manual' })
    expect(out.status).toBe(302)
    expect((await client.get('/me')).body).toEqual({ id: null, theme: null })

    await client.request('/login', { method: 'POST' })
    expect((await client.get('/logout-cb')).body).toEqual({ session: null })
    expect((await client.get('/me')).body).toEqual({ id: null, theme: null })
    // A cookie kept from before the logout names nothing any more.
    const replay = new Client(client.base)
    replay.jar.set('sessionId', loggedIn)
    expect((await replay.get('/me')).body).toEqual({ id: null, theme: null })
  })

  it('regenerate() drops everything, regenerate([keys]) keeps the listed keys; both change the id', async () => {
    const client = await serve(plugin, {}, (fastify) => {
      fastify.get('/fill', async (request) => {
        request.session.set('keep', 'k')
        request.session.set('drop', 'd')
        return { id: request.session.sessionId }
      })
      fastify.get('/regen', async (request) => {
        await request.session.regenerate()
        return { id: request.session.sessionId }
      })
      fastify.get('/regen-keep', (request, reply) => {
        request.session.regenerate(['keep'], (err) =>
          reply.send({ err: err ?? null, id: request.session.sessionId }),
        )
      })
      fastify.get('/read', async (request) => ({
        id: request.session.sessionId,
        keep: request.session.get('keep') ?? null,
        drop: request.session.get('drop') ?? null,
      }))
    })
    const filled = await client.get('/fill')
    const oldCookie = client.jar.get('sessionId')!
    const kept = await client.get('/regen-keep')
    expect(kept.body.err).toBeNull()
    expect(kept.body.id).not.toBe(filled.body.id)
    expect((await client.get('/read')).body).toEqual({ id: kept.body.id, keep: 'k', drop: null })
    const stale = new Client(client.base)
    stale.jar.set('sessionId', oldCookie)
    expect((await stale.get('/read')).body).toMatchObject({ keep: null, drop: null })

    const regen = await client.get('/regen')
    expect(regen.body.id).not.toBe(kept.body.id)
    expect((await client.get('/read')).body).toEqual({ id: regen.body.id, keep: null, drop: null })
  })

  it('"remember me": cookie.maxAge or options({ maxAge }) per request, in ms, kept with the session', async () => {
    // touchAfter: 0 (ignored by the peer): our rolling re-send rides on a confirmed touch.
    const client = await serve(plugin, { touchAfter: 0 } as never, (fastify) => {
      fastify.get('/remember', async (request) => {
        request.session.cookie.maxAge = 30 * 86_400_000
        request.session.user = { id: 'u1' }
        return 'ok'
      })
      fastify.get('/remember-options', async (request) => {
        request.session.options({ maxAge: 7 * 86_400_000 })
        request.session.user = { id: 'u2' }
        return 'ok'
      })
      fastify.get('/me', async (request) => ({
        id: request.session.user?.id ?? null,
        maxAge: request.session.cookie.maxAge,
      }))
    })
    const expiresIn = (setCookies: string[]) =>
      new Date(parseSetCookie(setCookies[0]!).attrs.expires as string).getTime() - Date.now()
    const first = await client.get('/remember')
    expect(expiresIn(first.setCookies)).toBeGreaterThan(29 * 86_400_000)
    const me = await client.get('/me')
    expect(me.body.id).toBe('u1')
    expect(me.body.maxAge).toBeGreaterThan(29 * 86_400_000)
    expect(expiresIn(me.setCookies)).toBeGreaterThan(29 * 86_400_000)

    const other = new Client(client.base)
    const second = await other.get('/remember-options')
    const days = expiresIn(second.setCookies) / 86_400_000
    expect(days).toBeGreaterThan(6.9)
    expect(days).toBeLessThanOrEqual(7)
    expect((await other.get('/me')).body.id).toBe('u2')
  })

  it('saveUninitialized: false and rolling: false: no cookie until data, then only on change', async () => {
    const client = await serve(plugin, { saveUninitialized: false, rolling: false }, (fastify) => {
      fastify.get('/peek', async (request) => ({ views: request.session.views ?? null }))
      fastify.get('/count', async (request) => {
        request.session.views = (request.session.views ?? 0) + 1
        return { views: request.session.views }
      })
    })
    const peek = await client.get('/peek')
    expect(peek.setCookies).toEqual([])
    const first = await client.get('/count')
    expect(first.setCookies).toHaveLength(1)
    expect(first.body.views).toBe(1)
    const again = await client.get('/peek')
    expect(again.body.views).toBe(1)
    expect(again.setCookies).toEqual([])
    const second = await client.get('/count')
    expect(second.body.views).toBe(2)
    expect(second.setCookies).toHaveLength(1)
  })

  it("secure: 'auto' with trustProxy follows X-Forwarded-Proto; secure: true needs https", async () => {
    const routes = (fastify: FastifyInstance) => {
      fastify.get('/', async (request) => {
        request.session.views = 1
        return 'ok'
      })
    }
    const auto = await serve(plugin, { cookie: { secure: 'auto' } }, routes, { trustProxy: true })
    const https = parseSetCookie((await auto.get('/', { 'x-forwarded-proto': 'https' })).setCookies[0]!)
    expect(https.attrs.secure).toBe(true)
    expect(https.attrs.samesite).toBeUndefined()
    const http = parseSetCookie((await new Client(auto.base).get('/')).setCookies[0]!)
    expect(http.attrs.secure).toBeUndefined()
    expect(http.attrs.samesite).toBe('Lax')

    const strict = await serve(plugin, { cookie: {} as never }, routes, { trustProxy: true })
    expect((await strict.get('/')).setCookies).toEqual([])
    const behindProxy = await new Client(strict.base).get('/', { 'x-forwarded-proto': 'https' })
    expect(parseSetCookie(behindProxy.setCookies[0]!).attrs.secure).toBe(true)
  })

  it('secret arrays: a cookie signed with an older secret still works', async () => {
    const NEW = 'the-new-secret-with-at-least-32-characters'
    const secrets = [SECRET]
    const client = await serve(plugin, { secret: secrets }, (fastify) => {
      fastify.get('/login', async (request) => {
        request.session.user = { id: 'u1' }
        return 'ok'
      })
      fastify.get('/me', async (request) => ({
        id: request.session.user?.id ?? null,
        sid: request.session.sessionId,
      }))
    })
    await client.get('/login')
    const oldCookie = client.jar.get('sessionId')!
    const sid = decodeURIComponent(oldCookie).split('.')[0]!
    expect(decodeURIComponent(oldCookie)).toBe(sign(sid, SECRET))
    secrets.unshift(NEW) // rotate: sign with the new one, still accept the old one
    const me = await client.get('/me')
    expect(me.body).toEqual({ id: 'u1', sid })
    if (ours) {
      // sessionkit re-issues the cookie signed with the current secret.
      expect(cookieValue(me.setCookies)).toBe(sign(sid, NEW))
      secrets.pop()
      expect((await client.get('/me')).body).toEqual({ id: 'u1', sid })
    }
  })

  it.each([
    ['default (uid-safe, 24 bytes)', randomBytes(24).toString('base64url')],
    ['genid: uuid', randomUUID()],
  ])(
    "cookiePrefix 's:' + cookieName 'connect.sid' read and write express-session's cookies, ids %s",
    async (_kind, sid) => {
      const store = jsonStore()
      // A session express-session (with connect-redis or any JSON store) wrote.
      store.records.set(
        sid,
        JSON.stringify({
          cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' },
          user: { id: 'u1' },
        }),
      )
      const client = await serve(
        plugin,
        { cookiePrefix: 's:', cookieName: 'connect.sid', store },
        (fastify) => {
          fastify.get('/me', async (request) => {
            request.session.views = (request.session.views ?? 0) + 1
            return { id: request.session.user?.id ?? null, sid: request.session.sessionId }
          })
        },
      )
      client.jar.set('connect.sid', encodeURIComponent(`s:${sign(sid, SECRET)}`))
      const me = await client.get('/me')
      expect(me.body).toEqual({ id: 'u1', sid })
      // The cookie we send back is the one express-session would have sent.
      expect(cookieValue(me.setCookies, 'connect.sid')).toBe(`s:${sign(sid, SECRET)}`)
      const record = JSON.parse(store.records.get(sid)!)
      // express-session reads it back: its Cookie fills in the defaults left out here.
      expect(record).toMatchObject({ user: { id: 'u1' }, views: 1, cookie: { originalMaxAge: null } })

      // A wrong prefix or a bad signature is a new session, as with express-session.
      const forged = new Client(client.base)
      forged.jar.set('connect.sid', encodeURIComponent(`s:${sign(sid, 'not-the-secret')}`))
      expect((await forged.get('/me')).body.id).toBeNull()
      const unprefixed = new Client(client.base)
      unprefixed.jar.set('connect.sid', encodeURIComponent(sign(sid, SECRET)))
      expect((await unprefixed.get('/me')).body.id).toBeNull()
    },
  )

  it('fastify.decryptSession(cookie, request, cb) in a WebSocket-style handler', async () => {
    let fastify!: FastifyInstance
    const client = await serve(plugin, {}, (app) => {
      fastify = app
      app.get('/login', async (request) => {
        request.session.user = { id: 'u1' }
        return 'ok'
      })
      // As a WebSocket upgrade handler would: the cookie value arrives out of band.
      app.get('/ws', (request, reply) => {
        const { token } = request.query as { token: string }
        const holder: { session?: { user?: { id: string } } | null } = {}
        fastify.decryptSession(token, holder, (err) => {
          reply.send({ err: err ?? null, id: holder.session?.user?.id ?? null })
        })
      })
      // The README's form: parse a Cookie header, decrypt into a plain object, with cookie options.
      app.get('/ws-header', (request, reply) => {
        const { sessionId } = fastify.parseCookie(request.headers['x-upgrade-cookie'] as string)
        const holder = {} as { session?: { user?: { id: string } } }
        fastify.decryptSession(sessionId!, holder, { maxAge: 86400 }, () => {
          reply.send({ id: holder.session?.user?.id ?? null })
        })
      })
    })
    await client.get('/login')
    const cookie = decodeURIComponent(client.jar.get('sessionId')!)
    const ws = new Client(client.base)
    expect((await ws.get(`/ws?token=${encodeURIComponent(cookie)}`)).body).toEqual({ err: null, id: 'u1' })
    expect((await ws.get(`/ws?token=${encodeURIComponent(`${cookie}x`)}`)).body).toEqual({
      err: null,
      id: null,
    })
    const header = await ws.get('/ws-header', {
      'x-upgrade-cookie': `sessionId=${client.jar.get('sessionId')}`,
    })
    expect(header.body).toEqual({ id: 'u1' })
  })

  it('hooks: an onRequest hook after the plugin and a preHandler guard see request.session', async () => {
    const seen: string[] = []
    const client = await serve(plugin, {}, (fastify) => {
      fastify.addHook('onRequest', async (request) => {
        seen.push(`${typeof request.session.get}:${request.session.get('user')?.id ?? '-'}`)
      })
      const requireUser = async (
        request: { session: { user?: { id: string } } },
        reply: { code(n: number): { send(b: unknown): unknown } },
      ) => {
        if (!request.session.user) return reply.code(401).send({ error: 'login first' })
      }
      fastify.get('/login', async (request) => {
        request.session.user = { id: 'u1' }
        return 'ok'
      })
      fastify.get('/private', { preHandler: requireUser }, async (request) => ({
        id: request.session.user!.id,
      }))
    })
    const denied = await client.get('/private')
    expect(denied.status).toBe(401)
    await client.get('/login')
    const allowed = await client.get('/private')
    expect(allowed).toMatchObject({ status: 200, body: { id: 'u1' } })
    expect(seen).toEqual(['function:-', 'function:-', 'function:u1'])
  })

  it('a session past its maxAge is gone on the next request', async () => {
    const client = await serve(plugin, { cookie: { secure: false, maxAge: 300 } }, (fastify) => {
      fastify.get('/login', async (request) => {
        request.session.user = { id: 'u1' }
        return 'ok'
      })
      fastify.get('/me', async (request) => ({ id: request.session.user?.id ?? null }))
    })
    // Expires has a one-second resolution: keep the cookie whatever it says, as a careless
    // client would, so only the server decides.
    const keep = <R extends { setCookies: string[] }>(res: R): R => {
      const value = res.setCookies.find((l) => l.startsWith('sessionId='))
      if (value) client.jar.set('sessionId', value.slice('sessionId='.length).split(';', 1)[0]!)
      return res
    }
    keep(await client.get('/login'))
    expect(keep(await client.get('/me')).body.id).toBe('u1')
    const until = Date.now() + 300 // rolling: the last response moved the deadline
    await new Promise((resolve) => setTimeout(resolve, until - Date.now() + 50))
    expect((await client.get('/me')).body.id).toBeNull()
  })

  it('a preHandler that sends without returning the reply, with a slow store: the cookie is still set', async () => {
    let release!: () => void
    let gate = Promise.resolve()
    const store = jsonStore(new Map(), () => gate)
    const client = await serve(plugin, { store }, (fastify) => {
      fastify.get(
        '/login',
        {
          preHandler: async (request, reply) => {
            request.session.user = { id: 'u1' }
            reply.redirect('/me') // no `return reply`: the handler runs and sends again
          },
        },
        async () => 'handler',
      )
      fastify.get('/me', async (request) => ({ id: request.session.user?.id ?? null }))
    })
    gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const pending = client.request('/login', { redirect: 'manual' })
    setImmediate(() => release())
    const login = await pending
    gate = Promise.resolve()
    expect(cookieValue(login.setCookies)).toBeDefined()
    expect((await client.get('/me')).body).toEqual({ id: 'u1' })
  })
})

it('the import is the only change: @sessionkit/fastify is the plugin the apps above register', () => {
  expect(PLUGINS[1][1]).toBe(fastifySession)
})
