export type { PgPool, PgPoolClient, PgQueryConfig, PgQueryResult } from './pool'
export { DEFAULT_TABLE, schemaSql, type TableName } from './schema'
export { PostgresStore, type PostgresStoreOptions } from './store'
