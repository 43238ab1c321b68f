/**
 * Lines that must not compile, each under `@ts-expect-error`: if a published type degrades to
 * `any` (as a self-referencing alias in a .d.ts does under skipLibCheck), the directive is
 * unused, which is an error (TS2578), and the consumer check fails. Compiled with types.ts,
 * whose declaration merging types the session fields.
 */
import type session from '@sessionkit/express'
import { Store } from '@sessionkit/express'
import fastifySession from '@sessionkit/fastify'
import koaSession from '@sessionkit/koa'
import { MemoryStore } from '@sessionkit/memory'
import { PostgresStore } from '@sessionkit/postgres'
import { RedisStore } from '@sessionkit/redis'
import Fastify from 'fastify'
import Koa from 'koa'

// @ts-expect-error: secret is a string
export const secret: session.SessionOptions = { secret: 42 }
// @ts-expect-error: no such option
export const bogus: session.SessionOptions = { secret: 's', bogus: true }
// @ts-expect-error: not a MemoryStore
export const store: session.MemoryStore = {}
// @ts-expect-error: not a Store
export const base: session.Store = 42
// @ts-expect-error: a connect store implements get, set and destroy (abstract on Store)
export class Incomplete extends Store {}
// @ts-expect-error: the peer's namespace types, through the plugin's name: secret is a string
export const fastifyOptions: fastifySession.FastifySessionOptions = { secret: 42 }
// @ts-expect-error: not a MemoryStore
export const fastifyStore: fastifySession.MemoryStore = {}
export function handler(req: Express.Request): void {
  // @ts-expect-error: userId is a string (declaration merging in types.ts)
  req.session.userId = 42
}
// @ts-expect-error: maxSessions is a number
export const memory = new MemoryStore({ maxSessions: 'many' })
// @ts-expect-error: client is required
export const redis = new RedisStore({})
// @ts-expect-error: pool is a pg.Pool (PgPool), not a connection string
export const postgres = new PostgresStore({ pool: 'postgres://localhost/app' })
// @ts-expect-error: maxAge is a number or 'session'
export const koa = koaSession({ maxAge: 'forever' }, new Koa())
new Koa().use((ctx) => {
  // @ts-expect-error: visits is a number (declaration merging in types.ts)
  ctx.session.visits = 'many'
})
Fastify().get('/', async (request) => {
  // @ts-expect-error: hits is a number (declaration merging in types.ts)
  request.session.hits = 'many'
})
export const fastify = fastifySession.MemoryStore // no error: a value
