// @fastify/flash 6 on a session plugin: messages survive one redirect and are read once.
import fastifyCookie from '@fastify/cookie'
import fastifyFlash from '@fastify/flash'
import Fastify from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '../helpers'
import { listen, PLUGINS, SECRET, tracker } from './app'

const apps = tracker()
afterEach(() => apps.closeAll())

describe.each(PLUGINS)('@fastify/flash on %s', (_name, plugin) => {
  async function build(): Promise<Client> {
    const fastify = apps.track(Fastify())
    fastify.register(fastifyCookie)
    fastify.register(plugin, { secret: SECRET, cookie: { secure: false }, saveUninitialized: false })
    fastify.register(fastifyFlash)
    fastify.post('/items', async (request, reply) => {
      request.flash('info', 'Item saved')
      request.flash('warning', ['username required', 'password required'])
      request.flash('info', 'Hello %s', 'Jared')
      return reply.redirect('/items')
    })
    fastify.get('/items', async (_request, reply) => ({ info: reply.flash('info') }))
    fastify.get('/all', async (_request, reply) => reply.flash())
    return new Client(await listen(fastify))
  }

  it('request.flash then redirect: reply.flash reads the messages once', async () => {
    const client = await build()
    const created = await client.request('/items', { method: 'POST', redirect: 'manual' })
    expect(created.status).toBe(302)
    expect(created.headers.get('location')).toBe('/items')
    expect((await client.get('/items')).body).toEqual({ info: ['Item saved', 'Hello Jared'] })
    expect((await client.get('/items')).body).toEqual({ info: [] })
    // The other type is still there, then gone.
    expect((await client.get('/all')).body).toEqual({ warning: ['username required', 'password required'] })
    expect((await client.get('/all')).body).toEqual({})
  })
})
