/**
 * One Koa server of a fleet moving from koa-session + koa-redis to @sessionkit/koa while
 * keeping koa-redis as its `store`, as its own process: `fork()`ed by
 * test/migration-koa-redis.test.ts with `{ name, phase, redisUrl }` as JSON in argv[2]. Each
 * phase is the exact configuration docs/MIGRATION.md gives for it ("koa-session + koa-redis →
 * @sessionkit/koa"). Reports `{ port }` over IPC; SIGTERM closes it gracefully (requests in
 * flight finish), as a rolling deploy stops a server.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { RedisStore } from '@sessionkit/redis'
import { Redis } from 'ioredis'
import Koa from 'koa'

/** `'redis-store'`: after koa-redis, @sessionkit/koa on `RedisStore` (leaving koa-redis). */
export type Phase = 'koa-session' | 'sessionkit' | 'redis-store'

const { name, phase, redisUrl } = JSON.parse(process.argv[2]!) as {
  name: string
  phase: Phase
  redisUrl: string
}

/** The app's own options, the same on every server of every phase. */
const OPTIONS = { key: 'koa.sess', maxAge: 30 * 60_000, prefix: 'koa:sess:' }
const KEYS = ['migration key, current', 'migration key, previous']

type Middleware = (options: object, app: Koa) => Koa.Middleware
interface KoaRedis {
  get(key: string): Promise<unknown>
  set(key: string, sess: unknown, maxAge: number): Promise<void>
  destroy(key: string): Promise<void>
  quit(): Promise<void>
}

// The real koa-session 7 and koa-redis 4: the integration package depends on neither,
// @sessionkit/koa's tests do.
const fromKoa = createRequire(join(import.meta.dirname, '../../../packages/koa/package.json'))
const redisStore = fromKoa('koa-redis') as (options: object) => KoaRedis

const client = phase === 'redis-store' ? new Redis(redisUrl, { maxRetriesPerRequest: 1 }) : undefined
const store = client ? new RedisStore({ client }) : redisStore({ url: redisUrl })
const quit = async () => void (await (client ? client.quit() : (store as KoaRedis).quit()))
const session =
  phase === 'koa-session'
    ? (fromKoa('koa-session') as { default: Middleware }).default
    : // The one-line swap: the same options, koa-redis stays the store.
      ((await import('@sessionkit/koa')).default as unknown as Middleware)

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
app.use(session({ ...OPTIONS, store }, app))
app.use((ctx) => {
  const route = `${ctx.method} ${ctx.path}`
  const current = ctx.session as Record<string, unknown>
  if (route === 'POST /login') {
    current.user = String(ctx.query.user)
    current.counter = 0
  } else if (route === 'POST /count') {
    current.counter = (typeof current.counter === 'number' ? current.counter : 0) + 1
  } else if (route !== 'GET /me') {
    ctx.status = 404
    return
  }
  ctx.body = { user: current.user ?? null, counter: current.counter ?? null }
})

const server = app.listen(0, '127.0.0.1')
await new Promise<void>((resolve) => server.once('listening', resolve))
process.send?.({ port: (server.address() as { port: number }).port })

process.once('disconnect', () => process.exit(0))
process.once('SIGTERM', () => {
  server.close(async () => {
    await quit()
    process.exit(0)
  })
  server.closeIdleConnections()
})
