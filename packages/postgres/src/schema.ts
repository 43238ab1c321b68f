import { quoteIdent } from './identifiers'

/** Where the session table lives. */
export interface TableName {
  tableName: string
  schemaName?: string
}

export const DEFAULT_TABLE = 'sessionkit_sessions'

/**
 * The DDL of the session table and its two indexes, for `tableName` in `schemaName`. The same
 * text, for the defaults, is the package's `schema.sql` (a test keeps them equal).
 *
 * - `id`: the session id, the primary key.
 * - `created_at_ms`, `last_accessed_at_ms`, `max_inactive_ms`, `expires_at_ms`: the record's
 *   metadata exactly as the app gave it (epoch ms of the app's clock, per the store SPI).
 * - `expires_at`: the same expiry on the database's clock (`now()` + the time the app said was
 *   left), so cleanup never depends on an app server's clock; indexed for cleanup.
 * - `principal`: the owner, indexed (partial: only rows that have one) for findByPrincipal.
 * - `attributes`: one JSONB object, attribute name to encoded value; a save changes it with
 *   `||` and `-` in the same UPDATE that checks the row is live.
 */
export function schemaStatements({ tableName, schemaName }: TableName): string[] {
  const table =
    schemaName === undefined ? quoteIdent(tableName) : `${quoteIdent(schemaName)}.${quoteIdent(tableName)}`
  const statements: string[] = []
  if (schemaName !== undefined) statements.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schemaName)};`)
  statements.push(
    `CREATE TABLE IF NOT EXISTS ${table} (
  id text PRIMARY KEY,
  principal text,                      -- owner, for findByPrincipal
  created_at_ms bigint NOT NULL,       -- epoch ms, as the app gave them (the store SPI's record)
  last_accessed_at_ms bigint NOT NULL,
  max_inactive_ms bigint NOT NULL,
  expires_at_ms bigint NOT NULL,
  expires_at timestamptz NOT NULL,     -- the same expiry on the database's clock: cleanup goes by it
  attributes jsonb NOT NULL            -- attribute name -> encoded value
);`,
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${tableName.slice(0, 48)}_expires_at_idx`)} ON ${table} (expires_at);`,
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${tableName.slice(0, 48)}_principal_idx`)} ON ${table} (principal) WHERE principal IS NOT NULL;`,
  )
  return statements
}

/** The schema as one SQL script. */
export function schemaSql(table: TableName = { tableName: DEFAULT_TABLE }): string {
  return `${schemaStatements(table).join('\n\n')}\n`
}
