import type { SessionStore } from '@sessionkit/core'
import { MemoryStore } from '@sessionkit/memory'
import { PostgresStore } from '@sessionkit/postgres'
import { RedisStore } from '@sessionkit/redis'
import { Cluster, Redis, type RedisOptions } from 'ioredis'

interface SpecOptions {
  /** Wait for this many replicas after every write (Redis): acknowledged writes survive a failover. */
  waitForReplicas?: { replicas: number; timeoutMs: number; onShortfall?: 'error' | 'accept' }
  /** ioredis' `enableAutoPipelining`, which the Redis README recommends (off unless given). */
  enableAutoPipelining?: boolean
  /** Every store call settles within this bound (Redis `commandTimeoutMs`, PostgreSQL `operationTimeoutMs`). */
  commandTimeoutMs?: number
}

/**
 * Where an instance keeps its sessions, as plain data: it crosses process boundaries (an
 * instance process receives it as JSON) and each process opens its own client from it.
 */
export type StoreSpec = SpecOptions &
  (
    | { kind: 'memory' }
    | { kind: 'redis'; url: string }
    | { kind: 'sentinel'; sentinels: { host: string; port: number }[]; name: string }
    | { kind: 'cluster'; nodes: { host: string; port: number }[] }
    | { kind: 'dynamodb'; endpoint: string; tableName: string }
    | { kind: 'postgres'; url: string }
  )

export interface OpenStore {
  store: SessionStore
  close(): Promise<void>
}

// The client options the Redis README recommends for outages: one reconnect attempt per
// queued command, reconnects at most 250 ms apart.
const resilient: RedisOptions = {
  maxRetriesPerRequest: 1,
  retryStrategy: (attempt) => Math.min(attempt * 50, 250),
}

/** Opens the store a spec names. `memory` is one MemoryStore per call: per instance, never shared. */
export async function openStore(spec: StoreSpec): Promise<OpenStore> {
  const redisOptions = { commandTimeoutMs: spec.commandTimeoutMs, waitForReplicas: spec.waitForReplicas }
  const pipelining = spec.enableAutoPipelining ? { enableAutoPipelining: true } : {}
  switch (spec.kind) {
    case 'memory': {
      const store = new MemoryStore()
      return { store, close: () => store.close() }
    }
    case 'redis':
      return redisStore(new Redis(spec.url, { ...resilient, ...pipelining }), redisOptions)
    case 'sentinel':
      return redisStore(
        new Redis({ ...resilient, ...pipelining, sentinels: spec.sentinels, name: spec.name }),
        redisOptions,
      )
    case 'cluster':
      return redisStore(new Cluster(spec.nodes, { redisOptions: resilient, ...pipelining }), redisOptions)
    case 'dynamodb':
      return openDynamoDB(spec)
    case 'postgres': {
      // The store's own pool (connectionString): bounded connects and statements, ended by close().
      const store = new PostgresStore({
        connectionString: spec.url,
        operationTimeoutMs: spec.commandTimeoutMs,
      })
      return { store, close: () => store.close() }
    }
  }
}

function redisStore(client: Redis | Cluster, options: SpecOptions): OpenStore {
  // Outages are expected in these scenarios; the store reports them as STORE_UNAVAILABLE.
  client.on('error', () => {})
  const store = new RedisStore({ client, ...options })
  return {
    store,
    close: async () => {
      client.disconnect()
    },
  }
}

type DynamoSpec = Extract<StoreSpec, { kind: 'dynamodb' }>

// Loaded by name at run time so this file compiles before @sessionkit/dynamodb exports its store.
async function dynamodb(spec: DynamoSpec) {
  const pkg: Record<string, any> = await import('@sessionkit/dynamodb')
  if (typeof pkg.DynamoDBStore !== 'function')
    throw new Error('@sessionkit/dynamodb exports no DynamoDBStore yet')
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb')
  const client = new DynamoDBClient({
    endpoint: spec.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  })
  return { pkg, client }
}

/** Creates the session table when it is missing (once, before instances open the store). */
export async function ensureDynamoDBTable(spec: DynamoSpec): Promise<void> {
  const { pkg, client } = await dynamodb(spec)
  try {
    await pkg.ensureTable(client, spec.tableName)
  } finally {
    client.destroy()
  }
}

/** The DynamoDB store, once `@sessionkit/dynamodb` exports one (see {@link dynamodbAvailable}). */
async function openDynamoDB(spec: DynamoSpec): Promise<OpenStore> {
  const { pkg, client } = await dynamodb(spec)
  const store: SessionStore = new pkg.DynamoDBStore({ client, tableName: spec.tableName })
  return {
    store,
    close: async () => {
      client.destroy()
    },
  }
}

/** True once `@sessionkit/dynamodb` exports its store and `ensureTable`: until then the DynamoDB rows are not run. */
export async function dynamodbAvailable(): Promise<boolean> {
  const pkg: Record<string, unknown> = await import('@sessionkit/dynamodb')
  return typeof pkg.DynamoDBStore === 'function' && typeof pkg.ensureTable === 'function'
}

/** Creates the session table and its indexes (once, before instances open the store). */
export async function ensurePostgresSchema(spec: Extract<StoreSpec, { kind: 'postgres' }>): Promise<void> {
  const store = new PostgresStore({ connectionString: spec.url })
  try {
    await store.createSchema()
  } finally {
    await store.close()
  }
}
