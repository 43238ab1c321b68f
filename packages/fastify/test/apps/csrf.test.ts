// @fastify/csrf-protection 8 with `sessionPlugin: '@fastify/session'`, as its README shows.
import fastifyCookie from '@fastify/cookie'
import fastifyCsrf from '@fastify/csrf-protection'
import Fastify from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '../helpers'
import { listen, PLUGINS, SECRET, tracker } from './app'

const apps = tracker()
afterEach(() => apps.closeAll())

describe.each(PLUGINS)('@fastify/csrf-protection on %s', (_name, plugin) => {
  async function build(saveUninitialized?: boolean): Promise<Client> {
    const fastify = apps.track(Fastify())
    fastify.register(fastifyCookie)
    fastify.register(plugin, { secret: SECRET, cookie: { secure: false }, saveUninitialized })
    await fastify.register(fastifyCsrf, { sessionPlugin: '@fastify/session' })
    fastify.get('/form', async (_request, reply) => ({ token: reply.generateCsrf() }))
    // As the README: onRequest (the token in a header), or preHandler to read it from the body.
    fastify.post('/submit', { onRequest: fastify.csrfProtection }, async () => ({ ok: true }))
    fastify.post('/submit-form', { preHandler: fastify.csrfProtection }, async () => ({ ok: true }))
    fastify.get('/rotate', async (request) => {
      await request.session.regenerate()
      return 'ok'
    })
    return new Client(await listen(fastify))
  }

  const post = (client: Client, body: unknown, headers: Record<string, string> = {}) =>
    client.request(headers['x-csrf-token'] === undefined ? '/submit-form' : '/submit', {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    })

  it.each([true, false])(
    'a token from the form passes; wrong or missing ones get 403 (saveUninitialized %s)',
    async (saveUninitialized) => {
      const client = await build(saveUninitialized)
      const { token } = (await client.get('/form')).body
      expect(typeof token).toBe('string')
      expect(client.jar.has('sessionId')).toBe(true)

      expect(await post(client, { _csrf: token })).toMatchObject({ status: 200, body: { ok: true } })
      expect((await post(client, {}, { 'x-csrf-token': token })).status).toBe(200)
      // The secret stays in the session: a second form's token works too, and the first still does.
      const second = (await client.get('/form')).body.token
      expect((await post(client, { _csrf: second })).status).toBe(200)
      expect((await post(client, { _csrf: token })).status).toBe(200)

      const wrong = await post(client, { _csrf: `${token.slice(0, -2)}xx` })
      expect(wrong.status).toBe(403)
      expect(wrong.body.code).toBe('FST_CSRF_INVALID_TOKEN')
      expect((await post(client, {})).status).toBe(403)
    },
  )

  it('a token is bound to its session: another session or a regenerated one rejects it', async () => {
    const client = await build()
    const { token } = (await client.get('/form')).body
    const stranger = await build()
    await stranger.get('/form')
    const foreign = await post(stranger, { _csrf: token })
    expect(foreign.status).toBe(403)
    expect(foreign.body.code).toBe('FST_CSRF_INVALID_TOKEN')

    await client.get('/rotate')
    const stale = await post(client, { _csrf: token })
    expect(stale.status).toBe(403)
    expect(stale.body.code).toBe('FST_CSRF_MISSING_SECRET')
  })
})
