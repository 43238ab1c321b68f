import { createRequire } from 'node:module'
import { afterEach, describe, expect, it } from 'vitest'
import { Client, type Running, start } from './helpers'

const peer = createRequire(import.meta.url)('@fastify/session') as unknown
const PLUGINS: [string, unknown][] = [
  ['@fastify/session', peer],
  ['@sessionkit/fastify', undefined],
]

const opened: Running[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.close()))
})

/** A connect (callback) store over a Map, with switchable failures. */
function callbackStore() {
  const sessions = new Map<string, string>()
  const failures: { get?: Error; destroy?: Error } = {}
  return {
    failures,
    store: {
      get(sid: string, cb: (err: unknown, session?: unknown) => void) {
        if (failures.get) return cb(failures.get)
        const raw = sessions.get(sid)
        cb(null, raw === undefined ? null : JSON.parse(raw))
      },
      set(sid: string, session: unknown, cb: (err?: unknown) => void) {
        sessions.set(sid, JSON.stringify(session))
        cb()
      },
      destroy(sid: string, cb: (err?: unknown) => void) {
        if (failures.destroy) return cb(failures.destroy)
        sessions.delete(sid)
        cb()
      },
    },
  }
}

describe.each(PLUGINS)('%s', (_name, plugin) => {
  it("destroy() rejects with the store's own error; a handler that catches it answers 200", async () => {
    const { store, failures } = callbackStore()
    const failure = Object.assign(new Error('destroy failed'), { code: 'EDESTROY' })
    const running = await start(
      { store: store as never, saveUninitialized: false },
      (app) => {
        app.get('/login', async (request) => {
          request.session.views = 1
          return 'ok'
        })
        app.get('/logout', async (request) => {
          const caught = await request.session.destroy().then(
            () => undefined,
            (err: unknown) => err,
          )
          return { same: caught === failure, code: (caught as { code?: string })?.code ?? null }
        })
        app.get('/reload', (request, reply) => {
          request.session.reload((err: unknown) => reply.send({ err: err === null ? 'null' : String(err) }))
        })
        app.get('/views', async (request) => ({ views: request.session.views ?? null }))
      },
      {},
      plugin,
    )
    opened.push(running)
    const client = new Client(running.url)
    await client.get('/login')
    expect((await client.get('/reload')).body).toEqual({ err: 'null' })
    failures.destroy = failure
    const res = await client.get('/logout')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ same: true, code: 'EDESTROY' })
    delete failures.destroy
    failures.get = Object.assign(new Error('not found'), { code: 'ENOENT' })
    const fresh = await client.get('/views')
    expect(fresh.status).toBe(200)
    expect(fresh.body).toEqual({ views: null })
  })

  it('a reply sent from an async preHandler without `return reply` skips the handler (in-process store)', async () => {
    let handlerRan = false
    const running = await start(
      {},
      (app) => {
        app.get(
          '/guarded',
          {
            preHandler: async (_request, reply) => {
              reply.code(401).send('challenge') // as @fastify/passport does, without `return reply`
            },
          },
          async () => {
            handlerRan = true
            throw new Error('the handler must not run')
          },
        )
      },
      {},
      plugin,
    )
    opened.push(running)
    const res = await new Client(running.url).get('/guarded')
    expect(res.status).toBe(401)
    expect(res.body).toBe('challenge')
    expect(handlerRan).toBe(false)
  })
})
