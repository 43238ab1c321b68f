/**
 * One server of a fleet moving from express-session or @fastify/session on connect-redis to
 * @sessionkit/express or @sessionkit/fastify on @sessionkit/redis, as its own process:
 * `fork()`ed by test/migration-connect-redis.test.ts with `{ name, framework, phase, redisUrl }`
 * as JSON in argv[2]. Each phase is the exact configuration docs/MIGRATION.md gives for it.
 * Reports `{ port }` over IPC; SIGTERM closes it gracefully (requests in flight finish), as a
 * rolling deploy stops a server.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { RedisStore } from '@sessionkit/redis'
import { Redis } from 'ioredis'

export type Framework = 'express' | 'fastify'
/** `peer`: express-session / @fastify/session + connect-redis; then the three phases. */
export type Phase = 'peer' | 'keep' | 'switch' | 'finish'

const { name, framework, phase, redisUrl } = JSON.parse(process.argv[2]!) as {
  name: string
  framework: Framework
  phase: Phase
  redisUrl: string
}

/** The app's own options, the same on every server of every phase. */
const SECRET = 'connect-redis migration secret, at least 32 characters'
const MAX_AGE = 30 * 60_000

// The peers and connect-redis come from the bindings' devDependencies (the integration
// package does not depend on them): express-session 1.19, connect-redis on node-redis, @fastify/session 11.
const fromExpress = createRequire(join(import.meta.dirname, '../../../packages/express/package.json'))
const fromFastify = createRequire(join(import.meta.dirname, '../../../packages/fastify/package.json'))

/** The store of this phase, and how to close its client. */
async function storeOf(): Promise<{ store: unknown; close(): Promise<void> }> {
  if (phase === 'peer') {
    const { createClient } = fromExpress('redis')
    const { RedisStore: ConnectRedis } = fromExpress('connect-redis')
    const client = createClient({ url: redisUrl })
    await client.connect()
    return { store: new ConnectRedis({ client }), close: async () => void (await client.quit()) }
  }
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  // docs/MIGRATION.md, phase by phase: keep → switch → finish.
  const legacy =
    phase === 'keep'
      ? { legacy: { prefix: 'sess:', keep: true } }
      : phase === 'switch'
        ? { legacy: { prefix: 'sess:' } }
        : {}
  return { store: new RedisStore({ client, ...legacy }), close: async () => void (await client.quit()) }
}

type Data = { user?: string; counter?: number }

/** The routes, the same for both frameworks: login, count (a write), me (a read). */
function route(method: string, path: string, session: Data): Data | undefined {
  const key = `${method} ${path}`
  if (key === 'POST /count') session.counter = (session.counter ?? 0) + 1
  else if (key !== 'GET /me') return undefined
  return { user: session.user ?? null, counter: session.counter ?? null } as Data
}

const { store, close } = await storeOf()
let port: number
let shutdown: () => Promise<void>

if (framework === 'express') {
  const express = (await import('express')).default
  type Middleware = (options: object) => import('express').RequestHandler
  const session = (
    phase === 'peer' ? fromExpress('express-session') : (await import('@sessionkit/express')).default
  ) as Middleware
  const app = express()
  app.use((_req, res, next) => {
    res.set('x-instance', `${name}:${phase}`)
    next()
  })
  app.use(
    session({ secret: SECRET, resave: false, saveUninitialized: false, store, cookie: { maxAge: MAX_AGE } }),
  )
  app.post('/login', (req, res, next) => {
    // As apps do against session fixation: a fresh id, then the user.
    req.session.regenerate((err: unknown) => {
      if (err) return next(err)
      const s = req.session as unknown as Data
      s.user = String(req.query.user)
      s.counter = 0
      res.json({ user: s.user, counter: s.counter })
    })
  })
  app.use((req, res, next) => {
    const body = route(req.method, req.path, req.session as unknown as Data)
    if (body) res.json(body)
    else next()
  })
  app.use((err: Error, _req: unknown, res: import('express').Response, _next: unknown) => {
    res.status((err as { status?: number }).status ?? 500).json({ error: err.message })
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  port = (server.address() as { port: number }).port
  shutdown = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeIdleConnections()
    })
} else {
  const Fastify = (await import('fastify')).default
  const fastifyCookie = (await import('@fastify/cookie')).default
  const plugin =
    phase === 'peer' ? fromFastify('@fastify/session') : (await import('@sessionkit/fastify')).default
  const app = Fastify()
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('x-instance', `${name}:${phase}`)
  })
  await app.register(fastifyCookie)
  await app.register(plugin, {
    secret: SECRET,
    saveUninitialized: false,
    // @fastify/session's default `rolling: true` saves the whole session on every request, so a
    // read in one tab undoes a concurrent write in another even with peer servers alone
    // (docs/MIGRATION.md); a counter that must equal its acknowledged increments needs `false`.
    rolling: false,
    store,
    cookie: { secure: 'auto', maxAge: MAX_AGE },
  })
  app.setErrorHandler((err: { statusCode?: number; message: string }, _request, reply) => {
    reply.status(err.statusCode ?? 500).send({ error: err.message })
  })
  app.post('/login', async (request) => {
    const session = request.session as unknown as Data & { regenerate(): Promise<void> }
    await session.regenerate()
    const s = request.session as unknown as Data
    s.user = String((request.query as { user: string }).user)
    s.counter = 0
    return { user: s.user, counter: s.counter }
  })
  for (const [method, path] of [
    ['POST', '/count'],
    ['GET', '/me'],
  ] as const) {
    app.route({
      method,
      url: path,
      handler: async (request) => route(method, path, request.session as unknown as Data),
    })
  }
  await app.listen({ port: 0, host: '127.0.0.1' })
  port = (app.server.address() as { port: number }).port
  shutdown = () => app.close()
}

process.send?.({ port })

process.once('disconnect', () => process.exit(0))
process.once('SIGTERM', async () => {
  await shutdown()
  await close()
  process.exit(0)
})
