/** The cells of the benchmark: which server to start and which requests to send it. */

export type Framework = 'express' | 'koa' | 'fastify'

/** What handles sessions in a server. `bare` has no session layer at all. */
export type Variant =
  | 'bare'
  | 'peer-memory'
  | 'ours-memory'
  | 'peer-redis'
  /** ours + Redis on the ioredis client the README recommends (`enableAutoPipelining`). */
  | 'ours-redis'
  /** ours + Redis on an ioredis client with default options, to show what autopipelining buys. */
  | 'ours-redis-plain'
  | 'ours-dynamodb'
  /** ours + PostgreSQL on a `pg.Pool` with its default size (10 connections). */
  | 'ours-postgres'

export type Workload = 'read' | 'write' | 'new' | 'big' | 'wide'

/** What the server process is told when it starts. */
export interface ServerConfig {
  framework: Framework
  variant: Variant
  redisUrl?: string
  /** `new DynamoDBClient(dynamo)` reaches the cell's DynamoDB Local. */
  dynamo?: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } }
  /** The cell's PostgreSQL server (`postgres://…`). */
  postgresUrl?: string
}

export interface WorkloadSpec {
  name: Workload
  title: string
  /** The session the harness creates first (`GET /setup/<kind>`); none: every request is new. */
  setup: 'small' | 'big' | 'wide' | undefined
  path: '/read' | '/write' | '/new'
  /** Concurrent connections; the 100 000-attribute session is measured one request at a time. */
  connections: number
}

export const frameworks: readonly Framework[] = ['express', 'koa', 'fastify']

export const workloads: readonly WorkloadSpec[] = [
  { name: 'read', title: 'read-only, ~1 KB session', setup: 'small', path: '/read', connections: 50 },
  { name: 'write', title: 'write per request (counter)', setup: 'small', path: '/write', connections: 50 },
  { name: 'new', title: 'new session per request', setup: undefined, path: '/new', connections: 50 },
  { name: 'big', title: '~16 KB session, one small change', setup: 'big', path: '/write', connections: 50 },
  {
    name: 'wide',
    title: '100 000 attributes, read one',
    setup: 'wide',
    path: '/read',
    connections: 1,
  },
]

export const variants: readonly Variant[] = [
  'bare',
  'peer-memory',
  'ours-memory',
  'peer-redis',
  'ours-redis',
  'ours-redis-plain',
  'ours-dynamodb',
  'ours-postgres',
]

export const variantTitle: Record<Variant, string> = {
  bare: 'bare',
  'peer-memory': 'peer + memory',
  'ours-memory': 'ours + memory',
  'peer-redis': 'peer + Redis',
  'ours-redis': 'ours + Redis',
  'ours-redis-plain': 'ours + Redis, ioredis defaults',
  'ours-dynamodb': 'ours + DynamoDB Local',
  'ours-postgres': 'ours + PostgreSQL',
}

/** The peer each variant is compared with. */
export const peerOf: Partial<Record<Variant, Variant>> = {
  'ours-memory': 'peer-memory',
  'ours-redis': 'peer-redis',
  'ours-redis-plain': 'peer-redis',
}

export const peerName: Record<Framework, { memory: string; redis: string }> = {
  express: { memory: 'express-session MemoryStore', redis: 'express-session + connect-redis (node-redis)' },
  koa: { memory: 'koa-session (cookie store)', redis: 'koa-session + koa-redis' },
  fastify: { memory: '@fastify/session MemoryStore', redis: '@fastify/session + connect-redis (node-redis)' },
}

/**
 * Whether a cell belongs to the matrix at all: the 100 000-attribute session is measured in
 * memory only (it measures decoding, not the network), ioredis' default client options only
 * on reads (what autopipelining changes), DynamoDB Local and PostgreSQL under Express only (the
 * store's cost does not depend on the framework).
 */
export function inMatrix(framework: Framework, variant: Variant, workload: Workload): boolean {
  if (variant === 'bare') return true
  if (workload === 'wide' && variant !== 'peer-memory' && variant !== 'ours-memory') return false
  if (variant === 'ours-redis-plain' && workload !== 'read') return false
  if ((variant === 'ours-dynamodb' || variant === 'ours-postgres') && framework !== 'express') return false
  return true
}

/** Cells of the matrix that cannot run, with the reason shown in their row. */
export function notApplicable(
  framework: Framework,
  variant: Variant,
  workload: Workload,
): string | undefined {
  if (framework === 'koa' && variant === 'peer-memory' && (workload === 'big' || workload === 'wide')) {
    return 'a cookie cannot hold it'
  }
  return undefined
}
