// An OAuth 2 authorization-code login through @fastify/passport, with the state kept in the
// session the way passport-oauth2's state store keeps it (`session['oauth2:<host>'].state`,
// mutated in place and deleted on return). The provider is a route of the same app.
import { randomBytes } from 'node:crypto'
import fastifyCookie from '@fastify/cookie'
import fastifyPassport from '@fastify/passport'
import Fastify, { type FastifyRequest } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '../helpers'
import { listen, PLUGINS, SECRET, tracker } from './app'

const { Authenticator, Strategy } = fastifyPassport
const KEY = 'oauth2:provider.test'

/** What passport-oauth2 does around the provider's redirect, with a code exchange stubbed. */
class OAuthLikeStrategy extends Strategy {
  constructor(private readonly codes: Map<string, { name: string }>) {
    super('oauth')
  }

  override authenticate(request: FastifyRequest): void {
    const session = request.session as unknown as Record<string, { state?: string } | undefined>
    const { code, state } = request.query as { code?: string; state?: string }
    if (!code) {
      const fresh = randomBytes(12).toString('base64url')
      session[KEY] ??= {}
      session[KEY]!.state = fresh
      this.redirect(`/provider/authorize?state=${fresh}`)
      return
    }
    const stored = session[KEY]
    const expected = stored?.state
    if (stored) {
      delete stored.state
      if (Object.keys(stored).length === 0) delete session[KEY]
    }
    const user = this.codes.get(code)
    if (!expected) this.fail({ message: 'Unable to verify authorization request state.' }, 403)
    else if (expected !== state) this.fail({ message: 'Invalid authorization request state.' }, 403)
    else if (!user) this.fail({ message: 'bad code' }, 401)
    else this.success(user)
  }
}

const apps = tracker()
afterEach(() => apps.closeAll())

describe.each(PLUGINS)('an OAuth 2 login through @fastify/passport on %s', (_name, plugin) => {
  async function build() {
    const codes = new Map<string, { name: string }>()
    const app = apps.track(Fastify())
    const passport = new Authenticator()
    app.register(fastifyCookie)
    app.register(plugin, { secret: SECRET, cookie: { secure: false }, saveUninitialized: false })
    app.register(passport.initialize())
    app.register(passport.secureSession())
    passport.use('oauth', new OAuthLikeStrategy(codes))
    passport.registerUserSerializer(async (user: { name: string }) => user.name)
    passport.registerUserDeserializer(async (name: string) => ({ name }))
    const login = passport.authenticate('oauth', { successRedirect: '/me', authInfo: false })
    app.get('/auth/provider', { preValidation: login }, async () => 'unreachable')
    app.get('/auth/provider/callback', { preValidation: login }, async () => 'unreachable')
    // The provider: the user approves and is sent back with a code and the same state.
    app.get('/provider/authorize', async (request, reply) => {
      const code = randomBytes(8).toString('hex')
      codes.set(code, { name: 'alice' })
      const { state } = request.query as { state: string }
      return reply.redirect(`/auth/provider/callback?code=${code}&state=${state}`)
    })
    app.get('/me', async (request) => ({
      user: request.user ?? null,
      pending: (request.session as unknown as Record<string, unknown>)[KEY] ?? null,
    }))
    return new Client(await listen(app))
  }

  /** Follows redirects by hand (the jar must see each response's cookie). */
  async function follow(
    client: Client,
    path: string,
  ): Promise<{ status: number; body: unknown; hops: string[] }> {
    const hops: string[] = []
    let res = await client.request(path, { redirect: 'manual' })
    while (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location')!
      hops.push(location.split('?')[0]!)
      res = await client.request(location, { redirect: 'manual' })
    }
    return { status: res.status, body: res.body, hops }
  }

  it('redirects to the provider, checks the state on return, logs in and drops the state', async () => {
    const client = await build()
    const done = await follow(client, '/auth/provider')
    expect(done.hops).toEqual(['/provider/authorize', '/auth/provider/callback', '/me'])
    expect(done.body).toEqual({ user: { name: 'alice' }, pending: null })
    expect((await client.get('/me')).body).toEqual({ user: { name: 'alice' }, pending: null })
  })

  it('a callback whose state does not match is refused, and the state is gone', async () => {
    const client = await build()
    const start = await client.request('/auth/provider', { redirect: 'manual' })
    expect(start.status).toBe(302)
    const forged = await client.request('/auth/provider/callback?code=x&state=forged', { redirect: 'manual' })
    expect(forged.status).toBe(403)
    expect((await client.get('/me')).body).toEqual({ user: null, pending: null })
  })

  it('a callback without a session state (another browser) is refused', async () => {
    const client = await build()
    const state = new URL(
      (await client.request('/auth/provider', { redirect: 'manual' })).headers.get('location')!,
      'http://x',
    ).searchParams.get('state')
    const stranger = new Client(client.base)
    const res = await stranger.request(`/auth/provider/callback?code=x&state=${state}`, {
      redirect: 'manual',
    })
    expect(res.status).toBe(403)
  })
})
