/**
 * The parts of node-postgres the store uses, stated structurally so the published types need
 * no `@types/pg`: a `pg.Pool` is one.
 */

/** One query as node-postgres takes it; `name` makes it a prepared statement per connection. */
export interface PgQueryConfig {
  text: string
  values: unknown[]
  name?: string
}

export interface PgQueryResult {
  rows: Record<string, unknown>[]
  rowCount: number | null
}

/** A client checked out of a pool (`pg.PoolClient`). */
export interface PgPoolClient {
  query(config: PgQueryConfig): Promise<PgQueryResult>
  /** `release(err)` with an error destroys the connection instead of returning it to the pool. */
  release(err?: Error | boolean): void
}

/** A connection pool (`pg.Pool`). */
export interface PgPool {
  connect(): Promise<PgPoolClient>
  end(): Promise<void>
}
