import {
  isSessionError,
  mergeMeta,
  type SaveResult,
  type SessionMetaChange,
  type SessionRecord,
} from '@sessionkit/core'
import { type Query, transaction } from './executor'
import { fromLegacy } from './legacy'
import { createValues, updateValues } from './record'
import { bind, rotation, type Statement, type Statements, WHOLE } from './statements'

/** One write to move into the new table: a save's delta, or a touch (no attribute change). */
export interface PendingChange {
  meta: SessionMetaChange
  set: Record<string, string>
  removed: readonly string[]
}

/** connect-pg-simple's liveness, on the database's clock (it compares `expire` with now). */
const LEGACY_LIVE = 's.expire >= now()'

/**
 * Sessions that exist only as connect-pg-simple rows (`sid`, `sess` json, `expire`): read on a
 * miss, and moved to the new table by their first save, touch or rotation, in one transaction
 * that deletes the legacy row, so users stay logged in across the switch.
 */
export class LegacyRows {
  private readonly read: Statement
  private readonly take: Statement
  private readonly rotate: Statement
  private readonly cleanupRows: Statement

  constructor(
    private readonly table: string,
    private readonly statements: Statements,
  ) {
    // The time left on the database's clock; `expire` is a timestamp without time zone that
    // connect-pg-simple wrote through the session's TimeZone, and is read back through it.
    const left = `(extract(epoch FROM (s.expire::timestamptz - now())) * 1000)::float8 AS left_ms`
    this.read = {
      text: `SELECT s.sess::text AS sess, ${left} FROM ${table} AS s WHERE s.sid = $1 AND ${LEGACY_LIVE}`,
      name: undefined,
    }
    this.take = {
      text: `DELETE FROM ${table} AS s WHERE s.sid = $1 RETURNING s.sess::text AS sess, ${left}, ${LEGACY_LIVE} AS live`,
      name: undefined,
    }
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
    // connect-pg-simple indexes `expire` (IDX_session_expire).
    this.cleanupRows = {
      text: `DELETE FROM ${table} WHERE sid IN (
  SELECT sid FROM ${table} WHERE expire < now() ORDER BY expire LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING 1`,
      name: undefined,
    }
    this.rotate = { text: rotation(statements.table, table, 'sid', LEGACY_LIVE, whole), name: undefined }
  }

  async load(query: Query, id: string, now: number): Promise<SessionRecord | undefined> {
    const [row] = await query(bind(this.read, [id]))
    if (!row) return undefined
    const record = fromLegacy(id, String(row.sess), Number(row.left_ms), now)
    return record.expiresAt > now ? record : undefined
  }

  /**
   * The first write to a session that exists only as a legacy row: take (delete) the row and
   * write the record with this change applied, in one transaction. A concurrent request that
   * moved it first leaves no row to take: this change then applies to the record it wrote.
   */
  migrate(query: Query, id: string, change: PendingChange, now: number): Promise<SaveResult> {
    return transaction(query, async () => {
      const [row] = await query(bind(this.take, [id]))
      if (!row) return this.updateMoved(query, id, change, now)
      if (row.live !== true) return 'gone'
      let legacy: SessionRecord
      try {
        legacy = fromLegacy(id, String(row.sess), Number(row.left_ms), now)
      } catch (err) {
        if (isSessionError(err, 'CORRUPT_RECORD')) return 'gone'
        throw err
      }
      if (legacy.expiresAt <= now) return 'gone'
      const attributes: Record<string, string> = Object.assign(
        Object.create(null),
        legacy.attributes,
        change.set,
      )
      for (const name of change.removed) delete attributes[name]
      const meta = mergeMeta(legacy, change.meta)
      const created = await query(bind(this.statements.create, createValues(id, now, meta, attributes)))
      if (created.length > 0) return 'saved'
      return this.updateMoved(query, id, change, now)
    })
  }

  private async updateMoved(
    query: Query,
    id: string,
    change: PendingChange,
    now: number,
  ): Promise<SaveResult> {
    const rows = await query(
      bind(this.statements.update, updateValues(id, now, change.meta, change.set, change.removed)),
    )
    return rows.length > 0 ? 'saved' : 'gone'
  }

  /** Deletes up to `limit` expired legacy rows; answers how many. */
  async cleanup(query: Query, limit: number): Promise<number> {
    return (await query(bind(this.cleanupRows, [limit]))).length
  }

  /** A rotation whose previous id is a legacy row: the same one statement as for a record. */
  async rotateFrom(query: Query, values: unknown[]): Promise<{ found: boolean; moved: boolean }> {
    const [row] = await query(bind(this.rotate, values))
    return { found: row?.found === true, moved: row?.moved === true }
  }
}
