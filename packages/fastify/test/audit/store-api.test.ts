import fastifyCookie, { sign } from '@fastify/cookie'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { PLUGINS, SECRET } from './harness'
import { describeSession } from './routes'

const ID = 'Qk_XT2K7-clT-x1tVvoY6tIQ83iP72KN'

describe.each(PLUGINS)('the default store through its callback API on %s', (_name, plugin) => {
  it('Store and MemoryStore are event emitters', () => {
    const { Store, MemoryStore } = plugin as unknown as Record<
      string,
      new () => { on: Function; emit: Function }
    >
    let heard = 0
    const store = new Store!()
    store.on('test', () => heard++)
    store.emit('test')
    expect(heard).toBe(1)
    expect(typeof new MemoryStore!().on).toBe('function')
  })

  it('request.sessionStore.set(id, session, cb) from a hook: the next load sees it', async () => {
    const app = Fastify({ trustProxy: true })
    // As @fastify/session's own tests seed sessions: through the default store, from a hook.
    await app.register(fastifyCookie)
    await app.register(plugin, { secret: SECRET, cookie: { maxAge: 2000 } })
    app.addHook('onRequest', (request, _reply, done) => {
      if (request.url !== '/seed') return done()
      const cookie = { originalMaxAge: 1000, expires: new Date(Date.now() + 1000) }
      // A stored session as a JSON store holds it: the cookie's fields, not a Cookie object.
      request.sessionStore.set(ID, { a: 'seeded', cookie } as never, done)
    })
    app.get('/seed', async () => 'ok')
    app.get('/', async (request) => describeSession(request))
    app.get('/get', (request, reply) => {
      request.sessionStore.get(ID, (err: unknown, session: any) =>
        reply.send({ err: err === null ? 'null' : String(err), a: session?.a ?? null }),
      )
    })
    app.get('/destroy', (request, reply) => {
      request.sessionStore.destroy(ID, (err: unknown) => reply.send({ err: String(err) }))
    })
    await app.ready()
    const cookie = `sessionId=${encodeURIComponent(sign(ID, SECRET))}`
    await app.inject({ url: '/seed' })
    const res = await app.inject({ url: '/', headers: { cookie, 'x-forwarded-proto': 'https' } })
    const body = res.json()
    const seen = {
      id: body.id,
      data: body.data,
      originalMaxAge: body.cookie.originalMaxAge,
      get: (await app.inject({ url: '/get' })).json(),
      destroy: (await app.inject({ url: '/destroy' })).json(),
      afterDestroy: (await app.inject({ url: '/get' })).json(),
    }
    await app.close()
    expect(seen).toEqual({
      id: ID,
      data: { a: 'seeded' },
      originalMaxAge: 1000,
      get: { err: 'null', a: 'seeded' },
      destroy: { err: 'undefined' },
      afterDestroy: { err: 'null', a: null },
    })
  })

  it("new MemoryStore(map): sessions live in the app's Map, whole (the peer's multiple-secrets test)", async () => {
    const { MemoryStore } = plugin as unknown as { MemoryStore: new (map: Map<string, any>) => object }
    const sessions = new Map<string, any>([[ID, { test: 0, cookie: {} }]])
    const app = Fastify({ trustProxy: true })
    await app.register(fastifyCookie)
    await app.register(plugin, {
      secret: ['a-new-secret-with-at-least-32-characters', SECRET],
      store: new MemoryStore(sessions) as never,
    })
    let counter = 0
    const seen: unknown[] = []
    app.get('/', async (request) => {
      seen.push([request.session.sessionId === ID, request.session.get('test')])
      request.session.set('test', ++counter)
      await request.session.save()
      return 'ok'
    })
    await app.ready()
    const https = { 'x-forwarded-proto': 'https' }
    const old = await app.inject({
      url: '/',
      headers: { ...https, cookie: `sessionId=${encodeURIComponent(sign(ID, SECRET))}` },
    })
    const renewed = old.cookies.find((c) => c.name === 'sessionId')!.value
    await app.inject({ url: '/', headers: { ...https, cookie: `sessionId=${encodeURIComponent(renewed)}` } })
    await app.close()
    expect(renewed).toBe(sign(ID, 'a-new-secret-with-at-least-32-characters'))
    expect(seen).toEqual([
      [true, 0],
      [true, 1],
    ])
    expect(sessions.get(ID).test).toBe(2)
    expect(Object.keys(sessions.get(ID)).sort()).toEqual(['cookie', 'test'])
  })
})
