import { type PostgresServer, type RedisServer, startDynamoDB, startRedis } from '@sessionkit/test-servers'
import type { Counters } from '../counters'
import { type Framework, type ServerConfig, type Variant, type WorkloadSpec, workloads } from '../matrix'
import { type LoadResult, load } from './load'
import { countCommands } from './monitor'
import { type PostgresSample, postgresDelta, samplePostgres, startPostgresWithStats } from './postgres'
import { type RedisSample, redisDelta, sampleRedis } from './redis'
import { type ServerProcess, startServer } from './server-process'

export interface CellKey {
  framework: Framework
  variant: Variant
  /** The bare framework is measured once, on the read route without a cookie. */
  workload: WorkloadSpec
}

export interface Measurement extends LoadResult {
  redis?: RedisSample
  /** A separate pass under MONITOR: commands the app sent vs commands its scripts ran. */
  monitor?: { requests: number; sent: number; inScripts: number }
  /** CPU time (user + system) the app server process spent over the measured seconds. */
  serverCpuMicros: number
  /** In-process counts of store requests (DynamoDB; PostgreSQL: round trips), seen by the client. */
  store?: { requests: number; bytes: number }
  /** The PostgreSQL server's own figures over the measured run. */
  postgres?: PostgresSample
}

export interface MeasureOptions {
  /** Measured seconds, or for smoke runs `undefined`: a fixed, small number of requests. */
  seconds: number | undefined
  warmupSeconds: number
  profileDir?: string
}

export const bareWorkload: WorkloadSpec = { ...workloads[0]!, setup: undefined }

/** An app server and the store server it uses, started together and stopped together. */
export interface Stack {
  server: ServerProcess
  redis: RedisServer | undefined
  postgres: PostgresServer | undefined
  close(): Promise<void>
}

/** The store server a variant needs, started fresh: Redis, DynamoDB Local, PostgreSQL, or none. */
async function startStoreServer(variant: Variant, config: ServerConfig) {
  if (variant.includes('redis')) {
    const redis = await startRedis()
    config.redisUrl = redis.url
    return { redis, postgres: undefined, stop: () => redis.stop() }
  }
  if (variant === 'ours-dynamodb') {
    const dynamo = await startDynamoDB()
    config.dynamo = dynamo.clientConfig
    return { redis: undefined, postgres: undefined, stop: () => dynamo.stop() }
  }
  if (variant === 'ours-postgres') {
    const postgres = await startPostgresWithStats()
    config.postgresUrl = postgres.url
    return { redis: undefined, postgres, stop: () => postgres.stop() }
  }
  return { redis: undefined, postgres: undefined, stop: async () => {} }
}

/** Starts a fresh store server (Redis cells) and a fresh app server using it. */
export async function openStack(
  framework: Framework,
  variant: Variant,
  profileDir: string | undefined,
): Promise<Stack> {
  const config: ServerConfig = { framework, variant }
  const storeServer = await startStoreServer(variant, config)
  try {
    const server = await startServer(config, profileDir)
    return {
      server,
      redis: storeServer.redis,
      postgres: storeServer.postgres,
      async close() {
        await server.stop()
        await storeServer.stop()
      },
    }
  } catch (err) {
    await storeServer.stop()
    throw err
  }
}

/** One pass of one cell on its own fresh stack. */
export async function measureCell(key: CellKey, options: MeasureOptions): Promise<Measurement> {
  const stack = await openStack(key.framework, key.variant, options.profileDir)
  try {
    return await measureOn(stack, key, options)
  } finally {
    await stack.close()
  }
}

/** Setup, warm-up and measurement of one cell on a running stack. */
export async function measureOn(stack: Stack, key: CellKey, options: MeasureOptions): Promise<Measurement> {
  const { server, redis, postgres } = stack
  const base = `http://127.0.0.1:${server.port}`
  const cookie = await prepare(base, key)
  const url = base + key.workload.path
  const run = { connections: key.workload.connections, cookie }
  if (options.warmupSeconds > 0) await load(url, { ...run, length: { seconds: options.warmupSeconds } })
  const redisBefore = redis && (await sampleRedis(redis.port))
  const postgresBefore = postgres && (await samplePostgres(postgres))
  const serverBefore = await serverCounters(server)
  // The wide session is driven one request at a time: a fixed count, not seconds of 1 s each.
  const length =
    key.workload.connections === 1
      ? { requests: options.seconds === undefined ? 3 : 10 }
      : options.seconds !== undefined
        ? { seconds: options.seconds }
        : { requests: 300 }
  const loaded = await load(url, { ...run, length })
  const serverAfter = await serverCounters(server)
  const postgresAfter = postgres && (await samplePostgres(postgres))
  const result: Measurement = { ...loaded, serverCpuMicros: serverAfter.cpuMicros - serverBefore.cpuMicros }
  if (postgresBefore && postgresAfter) result.postgres = postgresDelta(postgresBefore, postgresAfter)
  if (serverAfter.storeRequests > serverBefore.storeRequests) {
    result.store = {
      requests: serverAfter.storeRequests - serverBefore.storeRequests,
      bytes: serverAfter.storeBytesSent - serverBefore.storeBytesSent,
    }
  }
  if (redis && redisBefore) {
    result.redis = redisDelta(redisBefore, await sampleRedis(redis.port))
    // Requests of the measured run still in flight would land in the count: one more request
    // answered first means the server has sent its commands for all of them.
    await fetch(url, cookie ? { headers: { cookie } } : {}).then((res) => res.text())
    let requests = 0
    const count = await countCommands(redis.port, async () => {
      const pass = options.seconds === undefined ? 100 : 300
      requests = (await load(url, { ...run, length: { requests: pass } })).requests
    })
    result.monitor = { requests, ...count }
  }
  return result
}

/**
 * Creates the workload's session and answers the Cookie header that presents it, after
 * checking that the server really recognises it: a cell where every request silently
 * started a new session would measure the wrong thing.
 */
async function prepare(base: string, key: CellKey): Promise<string | undefined> {
  const bare = key.variant === 'bare'
  const kind = key.workload.setup
  if (!kind) {
    if (key.workload.name === 'new' && !bare) {
      const res = await fetch(`${base}/new`)
      await expectOk(res, '/new')
      if (res.headers.getSetCookie().length === 0) throw new Error('/new set no cookie')
    }
    return undefined
  }
  const res = await fetch(`${base}/setup/${kind}`)
  await expectOk(res, `/setup/${kind}`)
  const cookie = res.headers
    .getSetCookie()
    .map((line) => line.split(';', 1)[0])
    .join('; ')
  if (!cookie) throw new Error(`/setup/${kind} set no cookie`)
  const check = await fetch(`${base}/read`, { headers: { cookie } })
  const body = await expectOk(check, '/read')
  if (body !== 'ada') throw new Error(`the session cookie was not recognised: /read answered ${body}`)
  return cookie
}

async function expectOk(res: Response, what: string): Promise<string> {
  const body = await res.text()
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${body.slice(0, 200)}`)
  return body
}

async function serverCounters(server: ServerProcess): Promise<Counters> {
  const res = await fetch(`http://127.0.0.1:${server.statsPort}/`)
  return (await res.json()) as Counters
}
