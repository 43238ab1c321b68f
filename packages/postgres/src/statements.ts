import { createHash } from 'node:crypto'
import type { PgQueryConfig } from './pool'

/** Columns a load answers, in the order `toRecord` reads them. */
const COLUMNS =
  'id, principal, created_at_ms, last_accessed_at_ms, max_inactive_ms, expires_at_ms, attributes::text AS attributes'

/**
 * A row is live while both clocks say so: the database's (`expires_at`, what cleanup goes by)
 * and the app's (`expires_at_ms` against the `now` the app sent: the SPI's "never after
 * expiresAt", on the clock that computed it).
 */
const live = (t: string, now: string) => `${t}.expires_at > now() AND ${t}.expires_at_ms > ${now}`

/**
 * The database-clock instant of an app-given expiry: now() plus the time the app said is left
 * (capped at 100 years so no app value overflows a timestamp).
 */
const dbExpiry = (expiresAt: string, now: string) =>
  `now() + LEAST(GREATEST(${expiresAt} - ${now}, 0), 3153600000000) * interval '1 millisecond'`

/** The column values of a whole record, for INSERT … VALUES or SELECT. */
const WHOLE = (p: {
  id: string
  now: string
  created: string
  accessed: string
  idle: string
  exp: string
  principal: string
  attrs: string
}) =>
  `${p.id}, ${p.principal}, ${p.created}, ${p.accessed}, ${p.idle}, ${p.exp}, ${dbExpiry(p.exp, p.now)}, ${p.attrs}`

const INSERT_COLUMNS =
  '(id, principal, created_at_ms, last_accessed_at_ms, max_inactive_ms, expires_at_ms, expires_at, attributes)'

/** An existing row counts as free (replaced whole) once it is expired. */
const REPLACE_EXPIRED = (now: string) => `ON CONFLICT (id) DO UPDATE SET
  principal = EXCLUDED.principal, created_at_ms = EXCLUDED.created_at_ms,
  last_accessed_at_ms = EXCLUDED.last_accessed_at_ms, max_inactive_ms = EXCLUDED.max_inactive_ms,
  expires_at_ms = EXCLUDED.expires_at_ms, expires_at = EXCLUDED.expires_at, attributes = EXCLUDED.attributes
  WHERE NOT (${live('t', now)})`

/** A statement text and the prepared-statement name it runs under. */
export interface Statement {
  text: string
  name: string | undefined
}

function statement(op: string, text: string, prepared: boolean): Statement {
  // The name covers the text (and so the table name): two stores on different tables never
  // share a prepared statement on one connection.
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16)
  return { text, name: prepared ? `sessionkit_${op}_${hash}` : undefined }
}

export function bind(s: Statement, values: unknown[]): PgQueryConfig {
  return s.name === undefined ? { text: s.text, values } : { text: s.text, values, name: s.name }
}

/** Where the legacy (connect-pg-simple) rows are. */
export interface LegacyTable {
  table: string
}

/** Every statement of one store, built once for its table. */
export class Statements {
  /** $1 id, $2 now */
  readonly load: Statement
  /** $1 id, $2 now, $3 createdAt, $4 lastAccessedAt, $5 maxInactiveMs, $6 expiresAt, $7 principal, $8 attributes */
  readonly create: Statement
  /**
   * $1 id, $2 now, $3 lastAccessedAt, $4 expiresAt, $5 maxInactiveMs (null: unchanged),
   * $6 principal mode ('keep' | 'set' | 'clear'), $7 principal, $8 set (jsonb), $9 removed (text[])
   */
  readonly update: Statement
  /** $1 id, $2 now, $3 lastAccessedAt, $4 expiresAt */
  readonly touch: Statement
  /** $1 new id, $2 now, $3..$8 as create, $9 previous id */
  readonly rotate: Statement
  /** $1 id */
  readonly delete: Statement
  /** $1 principal, $2 now */
  readonly byPrincipal: Statement
  /** $1 limit */
  readonly cleanup: Statement
  /** $1 id: the row as stored, live or not (tests and the readRaw hook) */
  readonly raw: Statement

  constructor(
    readonly table: string,
    prepared: boolean,
    legacy: LegacyTable | undefined,
  ) {
    const T = table
    this.load = statement(
      'load',
      `SELECT ${COLUMNS} FROM ${T} AS t WHERE t.id = $1 AND ${live('t', '$2::bigint')}`,
      prepared,
    )
    const whole = WHOLE({
      id: '$1::text',
      now: '$2::bigint',
      created: '$3::bigint',
      accessed: '$4::bigint',
      idle: '$5::bigint',
      exp: '$6::bigint',
      principal: '$7::text',
      attrs: '$8::jsonb',
    })
    this.create = statement(
      'create',
      `INSERT INTO ${T} AS t ${INSERT_COLUMNS} VALUES (${whole})
${REPLACE_EXPIRED('$2::bigint')}
RETURNING 1 AS saved`,
      prepared,
    )
    // Attributes: set then removed, in the UPDATE that checks liveness, so two saves of
    // different attributes merge (the second re-reads the row the first committed) and a save
    // of a deleted row matches nothing. An unchanged object keeps its stored (TOASTed) value.
    // Metadata: SessionMetaChange's rule, max(stored, given) unless the idle timeout changed.
    this.update = statement(
      'update',
      `UPDATE ${T} AS t SET
  attributes = CASE WHEN $8::jsonb = '{}'::jsonb AND cardinality($9::text[]) = 0 THEN t.attributes
                    ELSE (t.attributes || $8::jsonb) - $9::text[] END,
  last_accessed_at_ms = GREATEST(t.last_accessed_at_ms, $3::bigint),
  expires_at_ms = CASE WHEN $5::bigint IS NULL THEN GREATEST(t.expires_at_ms, $4::bigint) ELSE $4::bigint END,
  expires_at = CASE WHEN $5::bigint IS NULL THEN GREATEST(t.expires_at, ${dbExpiry('$4::bigint', '$2::bigint')})
                    ELSE ${dbExpiry('$4::bigint', '$2::bigint')} END,
  max_inactive_ms = COALESCE($5::bigint, t.max_inactive_ms),
  principal = CASE $6::text WHEN 'keep' THEN t.principal WHEN 'clear' THEN NULL ELSE $7::text END
WHERE t.id = $1 AND ${live('t', '$2::bigint')}
RETURNING 1 AS saved`,
      prepared,
    )
    this.touch = statement(
      'touch',
      `UPDATE ${T} AS t SET
  last_accessed_at_ms = GREATEST(t.last_accessed_at_ms, $3::bigint),
  expires_at_ms = GREATEST(t.expires_at_ms, $4::bigint),
  expires_at = GREATEST(t.expires_at, ${dbExpiry('$4::bigint', '$2::bigint')})
WHERE t.id = $1 AND ${live('t', '$2::bigint')}
RETURNING 1 AS touched`,
      prepared,
    )
    this.rotate = statement('rotate', rotation(T, T, 'id', live('s', '$2::bigint'), whole), prepared)
    this.delete = statement(
      'delete',
      legacy
        ? `WITH legacy AS (DELETE FROM ${legacy.table} WHERE sid = $1) DELETE FROM ${T} WHERE id = $1`
        : `DELETE FROM ${T} WHERE id = $1`,
      prepared,
    )
    this.byPrincipal = statement(
      'principal',
      `SELECT ${COLUMNS} FROM ${T} AS t WHERE t.principal = $1 AND ${live('t', '$2::bigint')}`,
      prepared,
    )
    // Index-driven and bounded: the oldest expired rows first, never a scan of live ones;
    // rows another cleanup is deleting right now are skipped, not waited for.
    this.cleanup = statement(
      'cleanup',
      `DELETE FROM ${T} WHERE id IN (
  SELECT id FROM ${T} WHERE expires_at < now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING 1`,
      prepared,
    )
    this.raw = statement('raw', `SELECT * FROM ${T} WHERE id = $1`, false)
  }
}

/**
 * Rotation in one statement: lock the previous row if it is live, insert the new record only
 * then (an expired row at the new id is replaced, a live one is a collision), and delete the
 * previous row only if the insert happened. Answers `found` (the previous row was live) and
 * `moved` (the new record was written and the old one deleted).
 */
export function rotation(
  T: string,
  source: string,
  sourceId: string,
  sourceLive: string,
  whole: string,
): string {
  return `WITH prev AS (
  SELECT s.${sourceId} AS id FROM ${source} AS s WHERE s.${sourceId} = $9 AND ${sourceLive} FOR UPDATE
), ins AS (
  INSERT INTO ${T} AS t ${INSERT_COLUMNS} SELECT ${whole} FROM prev
  ${REPLACE_EXPIRED('$2::bigint')}
  RETURNING 1
), del AS (
  DELETE FROM ${source} WHERE ${sourceId} IN (SELECT id FROM prev) AND EXISTS (SELECT 1 FROM ins) RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM prev) AS found, EXISTS (SELECT 1 FROM del) AS moved`
}

export { INSERT_COLUMNS, WHOLE }
