/**
 * One Koa server of a fleet moving from koa-session's cookie mode to @sessionkit/koa, as its
 * own process: `fork()`ed by test/migration-koa-cookie.test.ts with `{ name, phase, redisUrl }`
 * as JSON in argv[2]. Each phase is the exact configuration docs/MIGRATION.md gives for it.
 * Reports `{ port }` over IPC; SIGTERM closes it gracefully (requests in flight finish), as a
 * rolling deploy stops a server.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { RedisStore } from '@sessionkit/redis'
import { Redis } from 'ioredis'
import Koa from 'koa'

export type Phase = 'koa-session' | 'cookie' | 'migrate' | 'store'

const { name, phase, redisUrl } = JSON.parse(process.argv[2]!) as {
  name: string
  phase: Phase
  redisUrl: string
}

/** The app's own options, the same on every server of every phase. */
const OPTIONS = { key: 'koa.sess', maxAge: 30 * 60_000 }
const KEYS = ['migration key, current', 'migration key, previous']

type Middleware = (options: object, app: Koa) => Koa.Middleware

async function middleware(app: Koa): Promise<{ use: Koa.Middleware; close(): Promise<void> }> {
  if (phase === 'koa-session') {
    // The real koa-session 7: the integration package does not depend on it, @sessionkit/koa's tests do.
    const fromKoa = createRequire(join(import.meta.dirname, '../../../packages/koa/package.json'))
    const koaSession = (fromKoa('koa-session') as { default: Middleware }).default
    return { use: koaSession({ ...OPTIONS }, app), close: async () => {} }
  }
  const session = (await import('@sessionkit/koa')).default as unknown as Middleware
  // Phase 1: the one-line swap, no store.
  if (phase === 'cookie') return { use: session({ ...OPTIONS }, app), close: async () => {} }
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  const store = new RedisStore({ client })
  // Phase 2 adds the store with `migrate: true`; phase 3 (finish) removes `migrate`.
  const use = session({ ...OPTIONS, store, ...(phase === 'migrate' ? { migrate: true } : {}) }, app)
  return { use, close: async () => void (await client.quit()) }
}

const app = new Koa()
app.keys = [...KEYS]
app.use(async (ctx, next) => {
  ctx.set('x-instance', `${name}:${phase}`)
  try {
    await next()
  } catch (err) {
    ctx.status = (err as { statusCode?: number }).statusCode ?? 500
    ctx.body = { error: (err as Error).message }
  }
})
const { use, close } = await middleware(app)
app.use(use)
app.use((ctx) => {
  const route = `${ctx.method} ${ctx.path}`
  if (route === 'GET /migration') {
    // What an operator's admin endpoint shows: docs/MIGRATION.md says when to go on.
    ctx.body = { migration: (use as { migration?: object }).migration ?? null }
    return
  }
  const session = ctx.session as Record<string, unknown>
  if (route === 'POST /login') {
    session.user = String(ctx.query.user)
    session.counter = 0
  } else if (route === 'POST /count') {
    session.counter = (typeof session.counter === 'number' ? session.counter : 0) + 1
  } else if (route !== 'GET /me') {
    ctx.status = 404
    return
  }
  ctx.body = { user: session.user ?? null, counter: session.counter ?? null }
})

const server = app.listen(0, '127.0.0.1')
await new Promise<void>((resolve) => server.once('listening', resolve))
process.send?.({ port: (server.address() as { port: number }).port })

process.once('disconnect', () => process.exit(0))
process.once('SIGTERM', () => {
  server.close(async () => {
    await close()
    process.exit(0)
  })
  server.closeIdleConnections()
})
