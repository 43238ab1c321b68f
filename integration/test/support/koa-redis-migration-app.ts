/**
 * One Koa server of a fleet moving from koa-session + koa-redis to @sessionkit/koa while
 * keeping koa-redis as its `store`, as its own process: `fork()`ed by
 * test/migration-koa-redis.test.ts with `{ name, phase, redisUrl }` as JSON in argv[2]. Each
 * phase is the exact configuration docs/MIGRATION.md gives for it ("koa-session + koa-redis →
 * @sessionkit/koa"). The app, its routes and its process's life:
 * test/support/koa-migration-server.ts.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { RedisStore } from '@sessionkit/redis'
import { Redis } from 'ioredis'
import type Koa from 'koa'
import { koaServerArgs, serveKoa } from './koa-migration-server'

/** `'redis-store'`: after koa-redis, @sessionkit/koa on `RedisStore` (leaving koa-redis). */
export type Phase = 'koa-session' | 'sessionkit' | 'redis-store'

const { name, phase, redisUrl } = koaServerArgs<Phase>()

/** The app's own options, the same on every server of every phase. */
const OPTIONS = { key: 'koa.sess', maxAge: 30 * 60_000, prefix: 'koa:sess:' }

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

await serveKoa(`${name}:${phase}`, (app) => ({ use: session({ ...OPTIONS, store }, app), close: quit }))
