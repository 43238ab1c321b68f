// @fastify/passport answers a failed authentication from an async hook with `reply.send()` and
// no `return reply`. With @fastify/session's in-process store that reply has ended before
// Fastify decides whether to go on, so the route's handler (and later hooks) never run. These
// apps check it side by side, whatever the registration order: routes added before the
// session plugin, instance-level hooks, two passport instances.
import fastifyCookie from '@fastify/cookie'
import fastifyPassport from '@fastify/passport'
import Fastify, { type FastifyRequest } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '../helpers'
import { listen, PLUGINS, SECRET, tracker } from './app'

const { Authenticator, Strategy } = fastifyPassport

/** Succeeds for `?as=<name>`, else fails with a Bearer challenge (401 + WWW-Authenticate). */
class QueryStrategy extends Strategy {
  constructor(name: string) {
    super(name)
  }

  override authenticate(request: FastifyRequest): void {
    const as = (request.query as { as?: string }).as
    if (as) this.success({ name: as })
    else this.fail('Bearer realm="api"', 401)
  }
}

const apps = tracker()
afterEach(() => apps.closeAll())

describe.each(PLUGINS)('a reply sent from an async hook without `return reply` on %s', (_name, plugin) => {
  async function build() {
    const ran: string[] = []
    const app = apps.track(Fastify())
    await app.register(fastifyCookie)
    // Registered before the session plugin: its onRoute hook never sees this route.
    app.get(
      '/early',
      { preHandler: async (_request, reply) => void reply.code(401).send('early') },
      async () => {
        ran.push('early')
        throw new Error('the handler must not run')
      },
    )
    await app.register(plugin, { secret: SECRET, cookie: { secure: false } })
    const users = new Authenticator()
    const admins = new Authenticator({ key: 'admin', userProperty: 'admin' })
    for (const passport of [users, admins]) {
      passport.use('query', new QueryStrategy('query'))
      passport.registerUserSerializer(async (user: { name: string }) => user.name)
      passport.registerUserDeserializer(async (name: string) => ({ name }))
    }
    // Two instances, each in its own plugin context, as @fastify/passport's README has it.
    await app.register(async (scope) => {
      await scope.register(users.initialize())
      await scope.register(users.secureSession())
      scope.post('/login', { preValidation: users.authenticate('query') }, async (request) => ({
        user: request.user ?? null,
      }))
      scope.get('/me', async (request) => ({ user: request.user ?? null }))
      // An instance-level hook, before any route-level one.
      await scope.register(async (api) => {
        api.addHook('preHandler', users.authenticate('query'))
        api.addHook('preHandler', async () => {
          ran.push('later-hook')
        })
        api.get('/api/secret', async () => {
          ran.push('api')
          throw new Error('the handler must not run')
        })
      })
    })
    await app.register(
      async (scope) => {
        await scope.register(admins.initialize())
        await scope.register(admins.secureSession())
        scope.post('/login', { preValidation: admins.authenticate('query') }, async (request) => ({
          admin: (request as { admin?: unknown }).admin ?? null,
        }))
        // A failed admin challenge must not reach this: its logout ends the user's login too.
        scope.post('/logout', { preHandler: admins.authenticate('query') }, async (request) => {
          ran.push('admin-logout')
          await request.logOut()
          return 'logged out'
        })
        scope.get('/me', async (request) => ({ admin: (request as { admin?: unknown }).admin ?? null }))
      },
      { prefix: '/admin' },
    )
    const url = await listen(app)
    return { client: new Client(url), ran }
  }

  it('a 401 challenge skips the handler and later hooks, also on routes registered before the plugin', async () => {
    const { client, ran } = await build()
    const early = await client.get('/early')
    expect([early.status, early.body]).toEqual([401, 'early'])
    const api = await client.get('/api/secret')
    expect(api.status).toBe(401)
    expect(api.headers.get('www-authenticate')).toBe('Bearer realm="api"')
    expect(ran).toEqual([])
  })

  it('two passport instances: a failed admin challenge does not run the admin logout', async () => {
    const { client, ran } = await build()
    expect((await client.request('/login?as=alice', { method: 'POST' })).body).toEqual({
      user: { name: 'alice' },
    })
    const challenged = await client.request('/admin/logout', { method: 'POST' })
    expect(challenged.status).toBe(401)
    expect(ran).toEqual([])
    expect((await client.get('/me')).body).toEqual({ user: { name: 'alice' } })
    await client.request('/admin/login?as=root', { method: 'POST' })
    expect((await client.get('/admin/me')).body).toEqual({ admin: { name: 'root' } })
    const out = await client.request('/admin/logout?as=root', { method: 'POST' })
    expect([out.status, out.body]).toEqual([200, 'logged out'])
    expect(ran).toEqual(['admin-logout'])
    expect((await client.get('/admin/me')).body).toEqual({ admin: null })
  })
})
