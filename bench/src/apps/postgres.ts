import { PostgresStore } from '@sessionkit/postgres'
import pg from 'pg'
import { counters } from '../counters'
import type { ServerConfig } from '../matrix'
import { need } from './clients'

/**
 * Our PostgreSQL store on the app's `pg.Pool` (pg's default size, the timeouts the store's README
 * recommends), with the session table created first. Every `query()` a pooled connection sends
 * is one round trip (node-postgres sends a statement's parse, bind and execute together), so the
 * count is the round trips per request; the statements the server ran come from the server.
 */
export async function postgresStoreFor(config: ServerConfig): Promise<PostgresStore> {
  const pool = new pg.Pool({
    connectionString: need(config.postgresUrl, 'postgresUrl'),
    connectionTimeoutMillis: 2000,
    statement_timeout: 2000,
  })
  pool.on('error', () => {})
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    ;(client as { query: unknown }).query = (...args: unknown[]) => {
      counters.storeRequests++
      return query(...args)
    }
  })
  const store = new PostgresStore({ pool })
  await store.createSchema()
  return store
}
