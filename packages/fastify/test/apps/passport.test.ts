// A login app as @fastify/passport's README writes it for @fastify/session: initialize(),
// secureSession(), a local-style strategy, a user serializer/deserializer, logIn/logOut.
import fastifyCookie from '@fastify/cookie'
import fastifyPassport from '@fastify/passport'
import { RedisStore } from '@sessionkit/redis'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import fastifySession from '../../src/index'
import { Client } from '../helpers'
import { listen, PLUGINS, SECRET, tracker } from './app'

const { Authenticator, Strategy } = fastifyPassport

interface User {
  id: string
  name: string
  password: string
}

/** What passport-local does: credentials from the body, verified against the user table. */
class LocalStrategy extends Strategy {
  constructor(private readonly users: Map<string, User>) {
    super('local')
  }

  override authenticate(request: FastifyRequest): void {
    const { username, password } = (request.body ?? {}) as { username?: string; password?: string }
    const user = [...this.users.values()].find((u) => u.name === username)
    if (!username || !password) this.fail({ message: 'Missing credentials' }, 400)
    else if (!user || user.password !== password) this.fail({ message: 'Bad credentials' }, 401)
    else this.success(user)
  }
}

const apps = tracker()
afterEach(() => apps.closeAll())

let redisServer: RedisServer
let redis: Redis
beforeAll(async () => {
  redisServer = await startRedis()
  redis = new Redis(redisServer.url)
})
afterAll(async () => {
  redis?.disconnect()
  await redisServer?.stop()
})

const variants = [
  ...PLUGINS.map(([name, plugin]) => [`${name} (MemoryStore)`, plugin, () => undefined] as const),
  [
    '@sessionkit/fastify (RedisStore)',
    fastifySession,
    () => new RedisStore({ client: redis, prefix: `passport:${Math.random()}:` }),
  ] as const,
]

describe.each(variants)('@fastify/passport 4 on %s', (_name, plugin, makeStore) => {
  async function build(): Promise<{ client: Client; url: string; users: Map<string, User> }> {
    const users = new Map<string, User>([
      ['u1', { id: 'u1', name: 'alice', password: 'wonderland' }],
      ['u2', { id: 'u2', name: 'bob', password: 'builder' }],
    ])
    const app = apps.track(Fastify())
    const passport = new Authenticator({ clearSessionIgnoreFields: ['returnTo'] })
    app.register(fastifyCookie)
    app.register(plugin, { secret: SECRET, cookie: { secure: false }, store: makeStore() })
    app.register(passport.initialize())
    app.register(passport.secureSession())
    passport.use('local', new LocalStrategy(users))
    passport.registerUserSerializer(async (user: User) => user.id)
    passport.registerUserDeserializer(async (id: string) => {
      const user = users.get(id)
      return user ? { id: user.id, name: user.name } : null
    })

    const requireLogin = async (request: FastifyRequest, reply: FastifyReply) => {
      if (!request.isAuthenticated()) {
        request.session.set('returnTo', request.url)
        return reply.redirect('/login-form')
      }
    }
    const me = (request: FastifyRequest) => ({
      authenticated: request.isAuthenticated(),
      user: request.user ?? null,
      basket: request.session.get('basket') ?? null,
      id: request.session.sessionId,
    })

    app.get('/visit', async (request) => {
      request.session.set('basket', ['apple'])
      return me(request)
    })
    app.get('/me', async (request) => me(request))
    app.post('/login', { preValidation: passport.authenticate('local') }, async (request) => me(request))
    app.post(
      '/login-form',
      {
        preValidation: passport.authenticate('local', {
          successReturnToOrRedirect: '/',
          failureRedirect: '/login-form',
          failureFlash: 'Invalid username or password',
        }),
      },
      async () => 'unreachable',
    )
    app.get('/login-form', async (_request, reply) => ({ error: reply.flash('error') }))
    app.get('/private', { preValidation: requireLogin }, async (request) => ({ user: request.user }))
    app.post('/login-keep', async (request) => {
      await request.logIn({ id: 'u2', name: 'bob' }, { keepSessionInfo: true })
      return me(request)
    })
    app.post('/logout', async (request) => {
      await request.logOut()
      return me(request)
    })
    const url = await listen(app)
    return { client: new Client(url), url, users }
  }

  const json = (body: unknown) => ({
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })

  it('logs in with a new session id, keeps the user across requests, and logs out', async () => {
    const { client, url } = await build()
    const before = await client.get('/visit')
    expect(before.body).toMatchObject({ authenticated: false, basket: ['apple'] })
    const anonymousCookie = client.jar.get('sessionId')!

    const wrong = await client.request('/login', json({ username: 'alice', password: 'nope' }))
    expect(wrong.status).toBe(401)
    expect((await client.get('/me')).body).toMatchObject({ authenticated: false, id: before.body.id })

    const login = await client.request('/login', json({ username: 'alice', password: 'wonderland' }))
    expect(login.status).toBe(200)
    expect(login.body).toMatchObject({ authenticated: true, user: { id: 'u1', name: 'alice' } })
    // Fixation protection: a new id, and the pre-login data is dropped (clearSessionOnLogin).
    expect(login.body.id).not.toBe(before.body.id)
    expect(login.body.basket).toBeNull()
    const me = await client.get('/me')
    expect(me.body).toEqual({
      authenticated: true,
      user: { id: 'u1', name: 'alice' },
      basket: null,
      id: login.body.id,
    })
    const loggedInCookie = client.jar.get('sessionId')!

    // The anonymous cookie an attacker may have planted does not ride on the login.
    const attacker = new Client(url)
    attacker.jar.set('sessionId', anonymousCookie)
    const planted = await attacker.get('/me')
    expect(planted.body.authenticated).toBe(false)
    expect(planted.body.id).not.toBe(login.body.id)

    const logout = await client.request('/logout', { method: 'POST' })
    expect(logout.body.authenticated).toBe(false)
    const after = await client.get('/me')
    expect(after.body).toMatchObject({ authenticated: false, user: null })
    expect(after.body.id).not.toBe(login.body.id)

    // The logged-in cookie replayed after logout is not a login any more.
    const replay = new Client(url)
    replay.jar.set('sessionId', loggedInCookie)
    expect((await replay.get('/me')).body).toMatchObject({ authenticated: false, user: null })
  })

  it('returnTo survives the login redirect; a failed login flashes its message once', async () => {
    const { client } = await build()
    const guarded = await client.request('/private', { redirect: 'manual' })
    expect(guarded.status).toBe(302)
    expect(guarded.headers.get('location')).toBe('/login-form')

    const failed = await client.request('/login-form', {
      ...json({ username: 'alice', password: 'nope' }),
      redirect: 'manual',
    })
    expect(failed.status).toBe(302)
    expect(failed.headers.get('location')).toBe('/login-form')
    expect((await client.get('/login-form')).body).toEqual({ error: ['Invalid username or password'] })
    expect((await client.get('/login-form')).body).toEqual({ error: [] })

    const ok = await client.request('/login-form', {
      ...json({ username: 'alice', password: 'wonderland' }),
      redirect: 'manual',
    })
    expect(ok.status).toBe(302)
    expect(ok.headers.get('location')).toBe('/private')
    expect((await client.get('/private')).body).toEqual({ user: { id: 'u1', name: 'alice' } })
  })

  it('request.logIn with keepSessionInfo keeps the data; a vanished user is logged out', async () => {
    const { client, users } = await build()
    const before = await client.get('/visit')
    const login = await client.request('/login-keep', { method: 'POST' })
    expect(login.body).toMatchObject({ authenticated: true, user: { id: 'u2' }, basket: ['apple'] })
    expect(login.body.id).not.toBe(before.body.id)
    expect((await client.get('/me')).body).toMatchObject({ authenticated: true, basket: ['apple'] })

    users.delete('u2')
    const gone = await client.get('/me')
    expect(gone.body).toMatchObject({ authenticated: false, user: null })
    expect((await client.get('/me')).body).toMatchObject({ authenticated: false, user: null })
  })
})
