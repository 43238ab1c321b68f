import type {
  SaveResult,
  SessionChange,
  SessionRecord,
  SessionStore,
  SessionTouch,
  StoreCapabilities,
} from '@sessionkit/core'
import { isSessionError, SessionError } from '@sessionkit/core'
import pg from 'pg'
import { Executor, transaction } from './executor'
import { qualified } from './identifiers'
import { KeptLegacy } from './keep'
import { LegacyRows } from './migration'
import type { PgPool } from './pool'
import { createValues, toRecord, updateValues } from './record'
import { Rotations } from './rotation'
import { DEFAULT_TABLE, schemaStatements } from './schema'
import { bind, Statements } from './statements'

/**
 * Options of {@link PostgresStore}.
 *
 * @example
 * ```ts
 * const options: PostgresStoreOptions = {
 *   pool: new Pool({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 2000 }),
 *   schemaName: 'auth',
 *   cleanupIntervalMs: 60_000,
 * }
 * ```
 */
export interface PostgresStoreOptions {
  /** The app's `pg.Pool`. The store never ends it. Give this or `connectionString`. */
  pool?: PgPool
  /**
   * A connection string: the store opens its own `pg.Pool` (with `connectionTimeoutMillis` and
   * `statement_timeout` at `operationTimeoutMs`, TCP keepalive on) and ends it in `close()`.
   */
  connectionString?: string
  /** Default `'sessionkit_sessions'`. */
  tableName?: string
  /** Default: none (the table is found through the connection's `search_path`). */
  schemaName?: string
  /**
   * Upper bound in ms for one store operation, pool checkout included. Past it the operation
   * fails with STORE_UNAVAILABLE and its connection is destroyed. Default 2000.
   */
  operationTimeoutMs?: number
  /** How often a statement that hit a serialization failure or deadlock runs again. Default 3. */
  serializationRetries?: number
  /**
   * Named (prepared) statements: parsed and planned once per connection. Turn off behind a
   * pooler in transaction mode that cannot keep them (PgBouncer before 1.21). Default true.
   */
  preparedStatements?: boolean
  /** Run `cleanupExpired({ limit: cleanupLimit })` this often (an unref'd timer; `close()` stops it). */
  cleanupIntervalMs?: number
  /** Rows one cleanup run deletes at most. Default 1000. */
  cleanupLimit?: number
  /** Called with a failure of an interval cleanup (they are otherwise ignored: the next run retries). */
  onCleanupError?: (err: SessionError) => void
  /**
   * Also read sessions that connect-pg-simple wrote (its table, default `session`: `sid`,
   * `sess`, `expire`) when no row exists in the new table; their first save, touch or rotation
   * moves them over and deletes the legacy row. `keep: true` (while express-session servers on
   * connect-pg-simple still share the database) keeps those sessions, and new ones, in
   * connect-pg-simple's table and format instead, so the peers see every write.
   */
  legacy?: { tableName?: string; schemaName?: string; keep?: boolean }
}

/**
 * Session store for PostgreSQL on node-postgres: one row per session, its attributes in one
 * JSONB column that a save changes in place (`||`, `-`), so every operation is one statement.
 *
 * - load, save, touch, delete, findByPrincipal, a create and a rotation: one statement each,
 *   one round trip. Nothing is created in the database unless you call `createSchema()`.
 * - Every operation settles within `operationTimeoutMs`; outages surface as STORE_UNAVAILABLE.
 *
 * @example
 * ```ts
 * import { Pool } from 'pg'
 * import { PostgresStore } from '@sessionkit/postgres'
 *
 * const store = new PostgresStore({ pool: new Pool({ connectionString: process.env.DATABASE_URL }) })
 * await store.createSchema() // or apply node_modules/@sessionkit/postgres/schema.sql with your migration tool
 * ```
 */
export class PostgresStore implements SessionStore {
  readonly capabilities: StoreCapabilities = { principalIndex: true, shared: true }
  /** The qualified table name, quoted: `"schema"."table"`. */
  readonly table: string
  private readonly pool: PgPool
  private readonly ownPool: boolean
  private readonly tableName: string
  private readonly schemaName: string | undefined
  private readonly executor: Executor
  private readonly statements: Statements
  private readonly legacy: LegacyRows | undefined
  private readonly rotations: Rotations
  private readonly kept: KeptLegacy | undefined
  private readonly timeoutMs: number
  private readonly cleanupLimit: number
  private timer: NodeJS.Timeout | undefined

  constructor(options: PostgresStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new SessionError(
        'INVALID_OPTIONS',
        'PostgresStore needs options: { pool } or { connectionString }',
      )
    }
    // Every option is checked before a pool is opened, so a refused one leaks nothing.
    const timeout = options.operationTimeoutMs ?? 2000
    if (!(timeout > 0))
      throw new SessionError('INVALID_OPTIONS', 'operationTimeoutMs must be a positive number')
    const retries = options.serializationRetries ?? 3
    if (!(Number.isInteger(retries) && retries >= 0)) {
      throw new SessionError('INVALID_OPTIONS', 'serializationRetries must be a non-negative integer')
    }
    this.cleanupLimit = options.cleanupLimit ?? 1000
    if (!(Number.isInteger(this.cleanupLimit) && this.cleanupLimit > 0)) {
      throw new SessionError('INVALID_OPTIONS', 'cleanupLimit must be a positive integer')
    }
    const interval = options.cleanupIntervalMs
    if (interval !== undefined && !(interval > 0)) {
      throw new SessionError('INVALID_OPTIONS', 'cleanupIntervalMs must be a positive number')
    }
    const usable = options.pool && typeof options.pool.connect === 'function'
    if (!usable && typeof options.connectionString !== 'string') {
      throw new SessionError(
        'INVALID_OPTIONS',
        'PostgresStore needs `pool` (a pg.Pool) or `connectionString`',
      )
    }
    this.tableName = options.tableName ?? DEFAULT_TABLE
    this.schemaName = options.schemaName
    this.table = qualified(this.tableName, this.schemaName)
    const legacyTable = options.legacy
      ? qualified(options.legacy.tableName ?? 'session', options.legacy.schemaName)
      : undefined

    if (usable) {
      this.pool = options.pool!
      this.ownPool = false
    } else {
      const pool = new pg.Pool({
        connectionString: options.connectionString,
        connectionTimeoutMillis: timeout,
        statement_timeout: timeout,
        keepAlive: true,
      })
      // An idle connection that breaks (a restart, a failover) must not crash the process.
      pool.on('error', () => {})
      this.pool = pool
      this.ownPool = true
    }
    this.statements = new Statements(
      this.table,
      options.preparedStatements ?? true,
      legacyTable === undefined ? undefined : { table: legacyTable },
    )
    this.legacy = legacyTable === undefined ? undefined : new LegacyRows(legacyTable, this.statements)
    this.executor = new Executor(this.pool, timeout, retries)
    this.timeoutMs = timeout
    this.kept =
      legacyTable !== undefined && options.legacy?.keep
        ? new KeptLegacy(
            legacyTable,
            `SELECT 1 FROM ${this.table} AS t WHERE t.id = $1::text AND t.expires_at > now() AND t.expires_at_ms > $4::bigint`,
          )
        : undefined
    this.rotations = new Rotations(this.executor, this.statements, this.legacy, this.kept)
    if (interval !== undefined) {
      const onError = options.onCleanupError
      this.timer = setInterval(() => {
        this.cleanupExpired().catch((err: SessionError) => onError?.(err))
      }, interval)
      this.timer.unref()
    }
  }

  /**
   * Creates the schema (when `schemaName` is given), the table and its indexes if they do not
   * exist, in one transaction. Never called implicitly; the same DDL is `schema.sql` in the package.
   */
  async createSchema(): Promise<void> {
    const statements = schemaStatements({ tableName: this.tableName, schemaName: this.schemaName })
    await this.executor.run('createSchema', (query) =>
      transaction(query, async () => {
        // Concurrent createSchema calls (several app instances starting) would race in the
        // catalog: one transaction-scoped advisory lock orders them.
        await query({ text: 'SELECT pg_advisory_xact_lock(hashtext($1))', values: [this.table] })
        for (const text of statements) await query({ text, values: [] })
      }),
    )
  }

  async load(id: string): Promise<SessionRecord | undefined> {
    // Half the bound at most, so the load itself still has the other half.
    await this.rotations.waitFor(id, this.timeoutMs / 2)
    return this.executor.run('load', async (query) => {
      const now = Date.now()
      const [row] = await query(bind(this.statements.load, [id, now]))
      if (row) return toRecord(row)
      return this.legacy?.load(query, id, now)
    })
  }

  async save(change: SessionChange): Promise<SaveResult> {
    const { id, meta } = change
    if (change.previousId !== undefined && change.previousId !== id) {
      // Values computed before the call: a copy sent again must be the same statement.
      const values = [...createValues(id, Date.now(), meta, change.set), change.previousId]
      return this.rotations.rotate(change, values)
    }
    return this.executor.run('save', async (query) => {
      const now = Date.now()
      if (change.isNew) {
        if (this.kept) return this.kept.create(query, change, now)
        const rows = await query(bind(this.statements.create, createValues(id, now, meta, change.set)))
        return rows.length > 0 ? 'saved' : 'collision'
      }
      const rows = await query(
        bind(this.statements.update, updateValues(id, now, meta, change.set, change.removed)),
      )
      if (rows.length > 0) return 'saved'
      if (this.kept) return (await this.kept.save(query, change, now)) ?? 'gone'
      return this.legacy ? this.legacy.migrate(query, id, change, now) : 'gone'
    })
  }

  async touch(id: string, meta: SessionTouch): Promise<boolean> {
    return this.executor.run('touch', async (query) => {
      const now = Date.now()
      const rows = await query(bind(this.statements.touch, [id, now, meta.lastAccessedAt, meta.expiresAt]))
      if (rows.length > 0) return true
      if (this.kept) return (await this.kept.touch(query, id, meta, now)) ?? false
      if (!this.legacy) return false
      // Only the two times: a touch never writes owner or idle timeout, whatever `meta` carries.
      const times = { createdAt: now, lastAccessedAt: meta.lastAccessedAt, expiresAt: meta.expiresAt }
      return (await this.legacy.migrate(query, id, { meta: times, set: {}, removed: [] }, now)) === 'saved'
    })
  }

  async delete(id: string): Promise<void> {
    await this.executor.run('delete', (query) => query(bind(this.statements.delete, [id])))
  }

  async findByPrincipal(principal: string): Promise<SessionRecord[]> {
    return this.executor.run('findByPrincipal', async (query) => {
      const now = Date.now()
      const rows = await query(bind(this.statements.byPrincipal, [principal, now]))
      const records: SessionRecord[] = []
      for (const row of rows) {
        try {
          records.push(toRecord(row))
        } catch (err) {
          // A row that is not a readable record is left out, not an error for the whole list.
          if (!isSessionError(err, 'CORRUPT_RECORD')) throw err
        }
      }
      if (this.kept) records.push(...(await this.kept.findByPrincipal(query, principal, now)))
      return records
    })
  }

  /**
   * Deletes up to `limit` (default `cleanupLimit`) rows past their expiry on the database's
   * clock, oldest first, through the `expires_at` index; with `legacy`, also expired
   * connect-pg-simple rows. Answers how many rows it deleted. Call it again while it answers
   * `limit` to drain a backlog.
   */
  async cleanupExpired(options: { limit?: number } = {}): Promise<number> {
    const limit = options.limit ?? this.cleanupLimit
    if (!(Number.isInteger(limit) && limit > 0))
      throw new SessionError('INVALID_OPTIONS', 'limit must be a positive integer')
    return this.executor.run('cleanupExpired', async (query) => {
      let deleted = (await query(bind(this.statements.cleanup, [limit]))).length
      if (this.legacy && deleted < limit) deleted += await this.legacy.cleanup(query, limit - deleted)
      return deleted
    })
  }

  /**
   * Resolves once every rotation whose answer was lost has been settled in the background (sent
   * again until one copy answered, at most a minute). For tests and graceful shutdown; requests
   * never need it.
   */
  settled(): Promise<void> {
    return this.rotations.settled()
  }

  /** The row as stored for `id`, live or not, or undefined: for tests and diagnostics. */
  async readRaw(id: string): Promise<Record<string, unknown> | undefined> {
    return this.executor.run('readRaw', async (query) => (await query(bind(this.statements.raw, [id])))[0])
  }

  /** Stops the cleanup interval; ends the pool only if the store opened it. Later operations reject with STORE_UNAVAILABLE. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.executor.close()
    if (this.ownPool) await this.pool.end()
  }
}
