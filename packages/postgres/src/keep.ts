import {
  createdMeta,
  mergeMeta,
  type SaveResult,
  type SessionChange,
  type SessionRecord,
  type SessionTouch,
  touchedMeta,
} from '@sessionkit/core'
import { type Query, transaction } from './executor'
import { fromLegacy, LEGACY_META } from './legacy'
import { storedCookie, toLegacyValue } from './legacy-format'
import { bind, type Statement } from './statements'

/** The time left on the database's clock (see migration.ts). */
const LEFT = `(extract(epoch FROM (s.expire::timestamptz - now())) * 1000)::float8 AS left_ms`

/**
 * `legacy: { keep: true }`: while express-session servers on connect-pg-simple still share the
 * database, a session that lives in connect-pg-simple's table stays there, in its format, and a
 * new session starts there, so the peers read every write. Sessions already in the new table
 * (written by servers without `keep`) are left to the store's own path.
 *
 * Each write locks the row (`SELECT … FOR UPDATE`), applies the change to what it read and
 * writes it back in one transaction, so two sessionkit servers never lose each other's changes,
 * and a row deleted meanwhile (a logout anywhere) answers `gone`. A peer server writes the whole
 * session blindly, as it always did (its upsert waits for the lock, then replaces the row), so a
 * peer's write can still replace a concurrent change: the peers' own lost-update semantics.
 */
export class KeptLegacy {
  private readonly lock: Statement
  private readonly write: Statement
  private readonly insert: Statement
  private readonly remove: Statement
  private readonly present: Statement
  readonly byPrincipal: Statement

  /** @param newTableLive `EXISTS`-able SQL: a live row of the new table with id $1 at app time $4 */
  constructor(table: string, newTableLive: string) {
    const live = 's.expire >= now()'
    this.lock = {
      text: `SELECT s.sess::text AS sess, ${LEFT} FROM ${table} AS s WHERE s.sid = $1 AND ${live} FOR UPDATE`,
      name: undefined,
    }
    this.write = {
      text: `UPDATE ${table} SET sess = $2::json, expire = to_timestamp($3::float8) WHERE sid = $1`,
      name: undefined,
    }
    // As connect-pg-simple's own upsert, but only over an expired row, and never for an id that
    // lives in the new table.
    this.insert = {
      text: `INSERT INTO ${table} AS s (sid, sess, expire)
SELECT $1::text, $2::json, to_timestamp($3::float8) WHERE NOT EXISTS (${newTableLive})
ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess, expire = EXCLUDED.expire WHERE s.expire < now()
RETURNING 1`,
      name: undefined,
    }
    this.remove = { text: `DELETE FROM ${table} WHERE sid = $1 RETURNING 1`, name: undefined }
    this.present = { text: `SELECT 1 FROM ${table} AS s WHERE s.sid = $1 AND ${live}`, name: undefined }
    // No index (the table is connect-pg-simple's): a scan of it, while keep is on. The README
    // gives an expression index for it.
    this.byPrincipal = {
      text: `SELECT s.sid, s.sess::text AS sess, ${LEFT} FROM ${table} AS s
WHERE (s.sess -> '${LEGACY_META}' ->> 'principal') = $1 AND ${live}`,
      name: undefined,
    }
  }

  /** A new session, in connect-pg-simple's format. */
  async create(query: Query, change: SessionChange, now: number): Promise<SaveResult> {
    const record: SessionRecord = {
      ...createdMeta(change.meta),
      id: change.id,
      attributes: { ...change.set },
    }
    const value = toLegacyValue(record, undefined, now)
    const rows = await query(bind(this.insert, [change.id, value.json, value.expireSeconds, now]))
    return rows.length > 0 ? 'saved' : 'collision'
  }

  /** The save's outcome, or undefined when the session is not a live legacy row. */
  async save(query: Query, change: SessionChange, now: number): Promise<SaveResult | undefined> {
    const done = await this.update(query, change.id, now, (stored) => {
      const attributes: Record<string, string> = Object.assign(
        Object.create(null),
        stored.attributes,
        change.set,
      )
      for (const name of change.removed) delete attributes[name]
      return { ...mergeMeta(stored, change.meta), id: change.id, attributes }
    })
    return done ? 'saved' : undefined
  }

  /** The touch's outcome (times only), or undefined when the session is not a live legacy row. */
  async touch(query: Query, id: string, touch: SessionTouch, now: number): Promise<boolean | undefined> {
    return (
      (await this.update(query, id, now, (stored) => ({ ...stored, ...touchedMeta(stored, touch) }))) ||
      undefined
    )
  }

  /**
   * A rotation of a legacy session, as the peers rotate (`regenerate`), in one transaction: the
   * old row locked, the session under the new id in the legacy format (over the old cookie),
   * the old row deleted. `again`: an earlier copy may have committed (rotation.ts).
   */
  async rotate(
    query: Query,
    change: SessionChange,
    now: number,
    again: boolean,
  ): Promise<{ found: boolean; moved: boolean }> {
    const previousId = change.previousId!
    return transaction(query, async () => {
      const [old] = await query(bind(this.lock, [previousId]))
      if (!old) {
        if (!again) return { found: false, moved: false }
        const present = await query(bind(this.present, [change.id]))
        return { found: present.length > 0, moved: present.length > 0 }
      }
      const record: SessionRecord = {
        ...createdMeta(change.meta),
        id: change.id,
        attributes: { ...change.set },
      }
      const value = toLegacyValue(record, storedCookie(String(old.sess)), now)
      const inserted = await query(bind(this.insert, [change.id, value.json, value.expireSeconds, now]))
      if (inserted.length === 0) {
        // The transaction commits nothing but the lock: nothing was written.
        return { found: true, moved: false }
      }
      await query(bind(this.remove, [previousId]))
      return { found: true, moved: true }
    })
  }

  /** Live legacy sessions of `principal` (those sessionkit wrote with one). */
  async findByPrincipal(query: Query, principal: string, now: number): Promise<SessionRecord[]> {
    const rows = await query(bind(this.byPrincipal, [principal]))
    const records: SessionRecord[] = []
    for (const row of rows) {
      try {
        const record = fromLegacy(String(row.sid), String(row.sess), Number(row.left_ms), now)
        if (record.expiresAt > now && record.principal === principal) records.push(record)
      } catch {
        // an unreadable row is left out, as for the new table
      }
    }
    return records
  }

  /** Lock, read, change, write back; false when there is no live legacy row. */
  private update(
    query: Query,
    id: string,
    now: number,
    apply: (stored: SessionRecord) => SessionRecord,
  ): Promise<boolean> {
    return transaction(query, async () => {
      const [row] = await query(bind(this.lock, [id]))
      if (!row) return false
      const json = String(row.sess)
      let stored: SessionRecord
      try {
        stored = fromLegacy(id, json, Number(row.left_ms), now)
      } catch {
        return false // unreadable: no session to change (load reports it as CORRUPT_RECORD)
      }
      if (stored.expiresAt <= now) return false
      const value = toLegacyValue(apply(stored), storedCookie(json), now)
      await query(bind(this.write, [id, value.json, value.expireSeconds]))
      return true
    })
  }
}
