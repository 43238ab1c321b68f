import { createRequire } from 'node:module'
import { MemoryStore } from '@sessionkit/memory'
import { afterEach, describe, expect, it } from 'vitest'
import fastifySession from '../src/index'
import { Client, type Running, start } from './helpers'

const PeerMemoryStore = (createRequire(import.meta.url)('@fastify/session') as { MemoryStore: new () => any })
  .MemoryStore

let running: Running | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

const routes = (app: Running['app']) => {
  app.get('/', async (request) => {
    request.session.views = (request.session.views ?? 0) + 1
    return { views: request.session.views, id: request.session.sessionId }
  })
  app.get('/big', async (request) => {
    request.session.big = 'x'.repeat(1024 * 1024 + 1)
    return 'ok'
  })
}

/** A minimal express-session-style store that answers ENOENT for unknown ids, as file stores do. */
class FileLikeStore {
  readonly map = new Map<string, string>()
  get(id: string, cb: (err: unknown, session?: Record<string, unknown>) => void) {
    const text = this.map.get(id)
    if (text === undefined) return cb(Object.assign(new Error('no such file'), { code: 'ENOENT' }))
    cb(null, JSON.parse(text))
  }
  set(id: string, session: unknown, cb: (err?: unknown) => void) {
    this.map.set(id, JSON.stringify(session))
    cb()
  }
  destroy(id: string, cb: (err?: unknown) => void) {
    this.map.delete(id)
    cb()
  }
}

describe('stores', () => {
  it('defaults to a sessionkit MemoryStore (request.sessionStore)', async () => {
    running = await start({}, (app) =>
      app.get('/', async (request) => request.sessionStore instanceof MemoryStore),
    )
    expect((await new Client(running.url).get('/')).body).toBe(true)
    expect(fastifySession.MemoryStore.prototype).toBeInstanceOf(MemoryStore)
    expect(fastifySession.Store).toBe(fastifySession.MemoryStore)
  })

  it('takes a @fastify/session-style callback store (the peer’s own MemoryStore)', async () => {
    const store = new PeerMemoryStore()
    running = await start({ store }, routes)
    const client = new Client(running.url)
    const { id } = (await client.get('/')).body
    expect((await client.get('/')).body.views).toBe(2)
    // The record is what the peer stores: data keys plus `cookie` (its JSON; a browser-session
    // cookie here), nothing of ours.
    const saved = store.store.get(id)
    expect(saved.views).toBe(2)
    expect(saved.cookie).toMatchObject({ originalMaxAge: null, expires: null, path: '/' })
    expect(Object.keys(saved).sort()).toEqual(['cookie', 'views'])
  })

  it('a callback store answering ENOENT gives a new session', async () => {
    const store = new FileLikeStore()
    running = await start({ store }, routes)
    const client = new Client(running.url)
    const first = (await client.get('/')).body
    store.map.clear()
    const second = (await client.get('/')).body
    expect(second.views).toBe(1)
    expect(second.id).not.toBe(first.id)
  })

  it('store down: the error reaches Fastify’s error handler (503), never a silent new session', async () => {
    const store = new MemoryStore()
    running = await start({ store }, routes)
    const client = new Client(running.url)
    await client.get('/')
    const cookie = client.jar.get('sessionId')
    await store.close()
    const res = await client.get('/')
    expect(res.status).toBe(503)
    expect(res.body.code).toBe('STORE_UNAVAILABLE')
    expect(res.setCookies).toEqual([])
    expect(client.jar.get('sessionId')).toBe(cookie)
  })

  it('a custom error handler sees the store error', async () => {
    const store = new MemoryStore()
    const seen: string[] = []
    running = await start({ store }, (app) => {
      app.setErrorHandler((err: any, _request, reply) => {
        seen.push(err.code)
        reply.status(err.statusCode ?? 500).send({ handled: true })
      })
      routes(app)
    })
    const client = new Client(running.url)
    await client.get('/')
    await store.close()
    expect((await client.get('/')).body).toEqual({ handled: true })
    expect(seen).toEqual(['STORE_UNAVAILABLE'])
  })

  it('a session over the size limit fails the request with 413 and is not written', async () => {
    const store = new MemoryStore()
    running = await start({ store }, routes)
    const client = new Client(running.url)
    const { id } = (await client.get('/')).body
    const res = await client.get('/big')
    expect(res.status).toBe(413)
    expect(res.body.code).toBe('SESSION_TOO_LARGE')
    expect((await store.load(id))?.attributes.big).toBeUndefined()
  })

  it("request.sessionStore answers the peer's get/set/destroy with any sessionkit store", async () => {
    const store = new MemoryStore()
    running = await start({ store }, (app) => {
      routes(app)
      app.get('/peek', (request, reply) => {
        const sessionStore = request.sessionStore
        sessionStore.get(String((request.query as { id: string }).id), (err, found) => {
          reply.send({
            err: err ? String(err) : null,
            views: found?.views ?? null,
            hasCookie: found?.cookie !== undefined,
            sessionkit: sessionStore instanceof MemoryStore && typeof sessionStore.load === 'function',
          })
        })
      })
    })
    const client = new Client(running.url)
    const { id } = (await client.get('/')).body
    expect((await client.get(`/peek?id=${id}`)).body).toEqual({
      err: null,
      views: 1,
      hasCookie: true,
      sessionkit: true,
    })
    // A view, not a change to the app's store: another binding given the same object would
    // take added get/set/destroy for a connect store's and stop merging attributes.
    expect(['get', 'set', 'destroy'].filter((name) => name in store)).toEqual([])
  })
})
