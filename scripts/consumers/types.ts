/**
 * Uses the types of every public package as an app or store author writes them, compiled
 * against the packed tarballs (strict, skipLibCheck false). A type that degrades to `any` is
 * caught by negative.ts (compiled with this file); an error in a published .d.ts fails the
 * compilation of both.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import fastifyCookie from '@fastify/cookie'
import { CONFORMANCE_VERSION, type ConformanceOptions, cases } from '@sessionkit/conformance'
import type { describeStoreConformance } from '@sessionkit/conformance/vitest'
import {
  type CookieOptions,
  isSessionError,
  jsonCodec,
  SessionError,
  type SessionStore,
} from '@sessionkit/core'
import { createTableInput, DynamoDBStore, type DynamoDBStoreOptions } from '@sessionkit/dynamodb'
import session, { type SessionData, type SessionOptions } from '@sessionkit/express'
import fastifySession, { type FastifySessionOptions } from '@sessionkit/fastify'
import koaSession, { type SessionOptions as KoaOptions } from '@sessionkit/koa'
import { MemoryStore, type MemoryStoreOptions } from '@sessionkit/memory'
import { PostgresStore, type PostgresStoreOptions, schemaSql } from '@sessionkit/postgres'
import { RedisStore, type RedisStoreOptions } from '@sessionkit/redis'
import express from 'express'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import Koa from 'koa'
import { Pool } from 'pg'

declare module '@sessionkit/express' {
  interface SessionData {
    userId: string
    views: number
  }
}
declare module '@sessionkit/koa' {
  interface SessionData {
    userId: string
    visits: number
  }
}
declare module 'fastify' {
  interface Session {
    userId: string
    hits: number
  }
}

// core
const cookie: CookieOptions = { httpOnly: true, sameSite: 'lax', path: '/' }
const codecText: string | undefined = jsonCodec.encode({ a: 1 })
function explain(err: unknown): string {
  if (isSessionError(err)) return err.code
  return err instanceof SessionError ? 'session' : 'other'
}

// memory
const memoryOptions: MemoryStoreOptions = { maxSessions: 1000 }
const memory: SessionStore = new MemoryStore(memoryOptions)

// redis: a client that never connects
const redisOptions: RedisStoreOptions = { client: new Redis({ lazyConnect: true }), prefix: 'app:' }
const redis: SessionStore = new RedisStore(redisOptions)

// dynamodb
const dynamoOptions: DynamoDBStoreOptions = {
  client: new DynamoDBClient({ region: 'local' }),
  tableName: 'sessions',
}
const dynamo: SessionStore = new DynamoDBStore(dynamoOptions)
const table: string | undefined = createTableInput('sessions').TableName

// postgres: the app's pg.Pool (which never connects here: nothing runs a query)
const postgresOptions: PostgresStoreOptions = {
  pool: new Pool({ connectionString: 'postgres://app@localhost/app', connectionTimeoutMillis: 2000 }),
  tableName: 'sessions',
  schemaName: 'auth',
}
const postgres: PostgresStore = new PostgresStore(postgresOptions)
const postgresStore: SessionStore = postgres
const createSchema: () => Promise<void> = () => postgres.createSchema()
const ddl: string = schemaSql({ tableName: 'sessions', schemaName: 'auth' })

// conformance
const conformance: ConformanceOptions<MemoryStore> = { name: 'memory', createStore: () => new MemoryStore() }
const describe: typeof describeStoreConformance = (_options) => {}
const caseIds: string[] = cases.map((c) => c.id)
const version: number = CONFORMANCE_VERSION

// express: express-session's namespace types through the default export
const expressOptions: session.SessionOptions = {
  secret: ['current', 'previous'],
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: 3_600_000, sameSite: 'lax', secure: 'auto' },
  store: new session.MemoryStore(),
}
const sameOptions: SessionOptions = expressOptions
const expressStore: session.MemoryStore = new session.MemoryStore()
class AppStore extends session.Store {
  get(_sid: string, callback: (err: unknown, data?: SessionData | null) => void): void {
    callback(null, null)
  }
  set(_sid: string, _data: SessionData, callback?: (err?: unknown) => void): void {
    callback?.()
  }
  destroy(_sid: string, callback?: (err?: unknown) => void): void {
    callback?.()
  }
}
const base: session.Store = new AppStore()
const expressCookie: session.CookieOptions = { httpOnly: true }
const data: session.SessionData = { userId: 'u1', views: 1, cookie: new session.Cookie({ maxAge: 60_000 }) }
const topData: SessionData = data
const middleware = session({ ...sameOptions, store: expressStore })
const expressApp = express()
expressApp.use(middleware)
expressApp.get('/', (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1
  const user: string | undefined = req.session.userId
  const s: session.Session = req.session
  const c: session.Cookie = req.session.cookie
  req.sessionStore.get(req.sessionID, (_err, stored) =>
    res.json({ user, stored: stored?.views, id: s.id, c }),
  )
})
void middleware.repository.destroyAllFor

// koa
const koaOptions: KoaOptions = { key: 'app.sess', maxAge: 86_400_000, store: new MemoryStore() }
const koaApp = new Koa()
koaApp.keys = ['key']
koaApp.use(koaSession(koaOptions, koaApp))
koaApp.use((ctx) => {
  ctx.session.visits = (ctx.session.visits ?? 0) + 1
  const user: string | undefined = ctx.session.userId
  ctx.body = { user }
})

// fastify
const fastifyOptions: FastifySessionOptions = { secret: 'a secret with minimum length of 32 characters' }
const fastifyApp = Fastify()
fastifyApp.register(fastifyCookie)
fastifyApp.register(fastifySession, { ...fastifyOptions, store: new fastifySession.MemoryStore() })
fastifyApp.get('/', async (request) => {
  request.session.hits = (request.session.hits ?? 0) + 1
  const user: string | undefined = request.session.get('userId')
  return { user }
})

export const used = [
  cookie,
  codecText,
  explain,
  memory,
  redis,
  dynamo,
  table,
  postgresStore,
  createSchema,
  ddl,
  conformance,
  describe,
  caseIds,
  version,
  expressCookie,
  topData,
  base,
]
