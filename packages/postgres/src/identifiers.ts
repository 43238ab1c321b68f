import { SessionError } from '@sessionkit/core'

/** `"name"` with inner quotes doubled: any table or schema name is taken literally. */
export function quoteIdent(name: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 63 || name.includes('\u0000')) {
    throw new SessionError('INVALID_OPTIONS', `not a PostgreSQL identifier: ${JSON.stringify(name)}`)
  }
  return `"${name.replaceAll('"', '""')}"`
}

/** `"schema"."table"`, or `"table"` (found through `search_path`) without a schema. */
export function qualified(table: string, schema: string | undefined): string {
  return schema === undefined ? quoteIdent(table) : `${quoteIdent(schema)}.${quoteIdent(table)}`
}
