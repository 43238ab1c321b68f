import * as servers from '@sessionkit/test-servers'
import {
  dynamodbAvailable,
  ensureDynamoDBTable,
  ensurePostgresSchema,
  type StoreSpec,
} from '../../src/stores'

export interface BackendServer {
  spec: StoreSpec
  stop(): Promise<void>
}

/** One shared store the scenarios run against; a new store is one more row. */
export interface BackendRow {
  name: string
  /** False while the store's package (or its test server) is not there yet. */
  available(): Promise<boolean>
  start(): Promise<BackendServer>
}

export const SHARED_BACKENDS: BackendRow[] = [
  {
    name: 'Redis standalone',
    available: async () => true,
    start: async () => {
      const redis = await servers.startRedis()
      return { spec: { kind: 'redis', url: redis.url }, stop: () => redis.stop() }
    },
  },
  {
    name: 'Redis Sentinel',
    available: async () => true,
    start: async () => {
      const topo = await servers.startSentinel()
      return {
        spec: { kind: 'sentinel', sentinels: topo.sentinels, name: topo.masterName },
        stop: () => topo.stop(),
      }
    },
  },
  {
    name: 'Redis Cluster',
    available: async () => true,
    start: async () => {
      const cluster = await servers.startCluster()
      return { spec: { kind: 'cluster', nodes: cluster.nodes }, stop: () => cluster.stop() }
    },
  },
  {
    name: 'DynamoDB Local',
    // Runs once @sessionkit/dynamodb exports DynamoDBStore and ensureTable.
    available: dynamodbAvailable,
    start: async () => {
      const dynamo = await servers.startDynamoDB()
      const spec: StoreSpec = { kind: 'dynamodb', endpoint: dynamo.endpoint, tableName: 'sessions' }
      await ensureDynamoDBTable(spec)
      return { spec, stop: () => dynamo.stop() }
    },
  },
  {
    name: 'PostgreSQL',
    available: async () => true,
    start: async () => {
      // A throwaway server on a free loopback port (never the machine's 5432).
      const postgres = await servers.startPostgres()
      const spec: StoreSpec = { kind: 'postgres', url: postgres.url }
      await ensurePostgresSchema(spec)
      return { spec, stop: () => postgres.stop() }
    },
  },
]

/** The rows whose store is there, and a line naming the ones that are not. */
export async function availableBackends(rows: BackendRow[] = SHARED_BACKENDS): Promise<BackendRow[]> {
  const out: BackendRow[] = []
  for (const row of rows) {
    if (await row.available()) out.push(row)
    else console.info(`integration: ${row.name} is not available yet; its scenarios do not run`)
  }
  return out
}
