/**
 * One Koa server of a fleet moving from koa-session's cookie mode to @sessionkit/koa, as its
 * own process: `fork()`ed by test/migration-koa-cookie.test.ts with `{ name, phase, redisUrl }`
 * as JSON in argv[2]. Each phase is the exact configuration docs/MIGRATION.md gives for it.
 * The app, its routes and its process's life: test/support/koa-migration-server.ts.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { RedisStore } from '@sessionkit/redis'
import { Redis } from 'ioredis'
import type Koa from 'koa'
import { koaServerArgs, type PhaseMiddleware, serveKoa } from './koa-migration-server'

export type Phase = 'koa-session' | 'cookie' | 'migrate' | 'store'

const { name, phase, redisUrl } = koaServerArgs<Phase>()

/** The app's own options, the same on every server of every phase. */
const OPTIONS = { key: 'koa.sess', maxAge: 30 * 60_000 }

type Middleware = (options: object, app: Koa) => Koa.Middleware

async function middleware(app: Koa): Promise<PhaseMiddleware> {
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

await serveKoa(`${name}:${phase}`, middleware)
