import { readFileSync } from 'node:fs'
import { isSessionError } from '@sessionkit/core'
import { startPostgres, waitFor } from '@sessionkit/test-servers'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { PostgresStore, schemaSql } from '../src/index'
import { Statements } from '../src/statements'
import { dispose, meta, newId, newPool, storeOn, timed } from './support'

const server = await startPostgres()
const admin = newPool(server.url)
const stores: PostgresStore[] = []
afterAll(async () => {
  for (const s of stores) await dispose(s)
  await admin.end()
  await server.stop()
})

async function store(table: string, options: Parameters<typeof storeOn>[2] = {}) {
  const s = await storeOn(server.url, table, options)
  stores.push(s)
  return s
}

async function tableExists(name: string): Promise<boolean> {
  return (await admin.query('SELECT to_regclass($1) IS NOT NULL AS e', [name])).rows[0].e
}

/** Inserts `count` rows that expired a minute ago (on both clocks). */
async function expiredRows(table: string, count: number) {
  await admin.query(
    `INSERT INTO ${table} (id, created_at_ms, last_accessed_at_ms, max_inactive_ms, expires_at_ms, expires_at, attributes)
     SELECT 'expired-' || md5(random()::text), 0, 0, 1, $1, now() - interval '1 minute', '{}' FROM generate_series(1, $2)`,
    [Date.now() - 60_000, count],
  )
}

describe('schema management', () => {
  it('schema.sql is the DDL createSchema runs', () => {
    const file = readFileSync(new URL('../schema.sql', import.meta.url), 'utf8')
    expect(file.endsWith(schemaSql())).toBe(true)
  })

  it('nothing is created implicitly: without createSchema every operation is STORE_ERROR naming the missing table', async () => {
    const pool = newPool(server.url)
    const s = new PostgresStore({ pool, tableName: 'never_created' })
    try {
      const r = await timed(() => s.save({ id: newId(), isNew: true, meta: meta(), set: {}, removed: [] }))
      expect(!r.ok && isSessionError(r.error, 'STORE_ERROR'), String(!r.ok && r.error)).toBe(true)
      expect(String(!r.ok && r.error)).toMatch(/never_created/)
      expect(await tableExists('never_created')).toBe(false)
    } finally {
      await s.close()
      await pool.end()
    }
  })

  it('createSchema is idempotent under concurrency, with a schema name and an odd table name', async () => {
    const pool = newPool(server.url, { max: 6 })
    const options = { pool, schemaName: 'auth "x"', tableName: 'web sessions"' }
    const instances = Array.from({ length: 4 }, () => new PostgresStore(options))
    try {
      await Promise.all(instances.map((s) => s.createSchema()))
      await instances[0]!.createSchema()
      const id = newId()
      expect(await instances[1]!.save({ id, isNew: true, meta: meta(), set: { a: '1' }, removed: [] })).toBe(
        'saved',
      )
      expect((await instances[2]!.load(id))!.attributes.a).toBe('1')
      expect(instances[0]!.table).toBe('"auth ""x"""."web sessions"""')
    } finally {
      for (const s of instances) await s.close()
      await pool.end()
    }
  })

  it('loads, findByPrincipal and cleanup are index scans, never a full scan', async () => {
    const s = await store('planned')
    await admin.query(
      `INSERT INTO ${s.table} (id, principal, created_at_ms, last_accessed_at_ms, max_inactive_ms, expires_at_ms, expires_at, attributes)
       SELECT 'row-' || n, 'user-' || (n % 500), 0, 0, 1, $1, now() + n * interval '1 second', '{}' FROM generate_series(1, 5000) n`,
      [Date.now() + 3_600_000],
    )
    await admin.query(`ANALYZE ${s.table}`)
    const plan = async (sql: string, values: unknown[]) =>
      (await admin.query(`EXPLAIN ${sql}`, values)).rows.map((r) => r['QUERY PLAN']).join('\n')
    // The store's own statement texts.
    const statements = new Statements(s.table, false, undefined)
    const now = Date.now()
    expect(await plan(statements.load.text, ['row-1', now])).toMatch(/Index Scan using planned_pkey/)
    expect(await plan(statements.byPrincipal.text, ['user-7', now])).toMatch(/planned_principal_idx/)
    const cleanup = await plan(statements.cleanup.text, [100])
    expect(cleanup).toMatch(/Index Scan using planned_expires_at_idx/)
    expect(cleanup).not.toMatch(/Seq Scan/)
  })
})

describe('cleanup', () => {
  it('cleanupExpired deletes at most `limit` expired rows per call, oldest first, and never a live one', async () => {
    const s = await store('cleanup_bounded')
    const live = newId()
    expect(await s.save({ id: live, isNew: true, meta: meta(), set: { a: '1' }, removed: [] })).toBe('saved')
    await expiredRows(s.table, 25)
    expect(await s.cleanupExpired({ limit: 10 })).toBe(10)
    expect(await s.cleanupExpired({ limit: 10 })).toBe(10)
    expect(await s.cleanupExpired({ limit: 10 })).toBe(5)
    expect(await s.cleanupExpired({ limit: 10 })).toBe(0)
    expect((await s.load(live))!.attributes.a).toBe('1')
  })

  it('the cleanup interval runs on an unref’d timer, and close() stops it', async () => {
    const s = await store('cleanup_interval', { cleanupIntervalMs: 20, cleanupLimit: 7 })
    await expiredRows(s.table, 20)
    await waitFor(
      'the interval to delete every expired row',
      async () => (await admin.query(`SELECT count(*)::int AS n FROM ${s.table}`)).rows[0].n === 0,
      5_000,
      20,
    )
    const timer = (s as unknown as { timer: NodeJS.Timeout }).timer
    expect(timer.hasRef()).toBe(false)
    await s.close()
    expect((s as unknown as { timer: unknown }).timer).toBeUndefined()
    expect(timer.hasRef()).toBe(false)
  })
})

describe('clocks', () => {
  it('the database decides when a row may be deleted: an app server whose clock runs ahead does not shorten it', async () => {
    const s = await store('clocks')
    const id = newId()
    const real = Date.now.bind(Date)
    const ahead = vi.spyOn(Date, 'now').mockImplementation(() => real() + 3_600_000)
    try {
      // The app's clock is an hour ahead: its 30 minutes are "now + 90 min" on its clock.
      const m = meta(1_800_000)
      expect(await s.save({ id, isNew: true, meta: m, set: { a: '1' }, removed: [] })).toBe('saved')
    } finally {
      ahead.mockRestore()
    }
    const { rows } = await admin.query(
      `SELECT extract(epoch FROM expires_at - now()) * 1000 AS left_ms FROM ${s.table} WHERE id = $1`,
      [id],
    )
    const left = Number(rows[0].left_ms)
    expect(left).toBeGreaterThan(1_800_000 - 10_000)
    expect(left).toBeLessThanOrEqual(1_800_000)
    // A cleanup (by the database's clock) leaves it alone.
    await s.cleanupExpired()
    expect(await s.readRaw(id)).toBeDefined()
  })

  it('a record past its expiresAt on the app clock never loads, even while the database clock says it has time', async () => {
    const s = await store('clocks')
    const id = newId()
    expect(await s.save({ id, isNew: true, meta: meta(60_000), set: {}, removed: [] })).toBe('saved')
    const real = Date.now.bind(Date)
    const later = vi.spyOn(Date, 'now').mockImplementation(() => real() + 60_000)
    try {
      expect(await s.load(id)).toBeUndefined()
      expect(await s.save({ id, isNew: false, meta: meta(), set: { b: '2' }, removed: [] })).toBe('gone')
    } finally {
      later.mockRestore()
    }
    expect(await s.load(id)).toBeDefined()
  })
})

describe('least privilege (the grants the README lists)', () => {
  it('a role with only SELECT, INSERT, UPDATE, DELETE on the table (and SELECT, UPDATE, DELETE on the legacy one) runs everything', async () => {
    const owner = await store('granted')
    await admin.query(
      'CREATE TABLE IF NOT EXISTS session (sid varchar PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)',
    )
    await admin.query(`DROP ROLE IF EXISTS app; CREATE ROLE app LOGIN;
      GRANT USAGE ON SCHEMA public TO app;
      GRANT SELECT, INSERT, UPDATE, DELETE ON granted TO app;
      GRANT SELECT, UPDATE, DELETE ON session TO app;`)
    const pool = newPool(server.url.replace('postgres@', 'app@'))
    const s = new PostgresStore({ pool, tableName: 'granted', legacy: {} })
    try {
      const id = newId()
      const p = `p-${id}`
      expect(await s.save({ id, isNew: true, meta: meta(), set: { a: '1' }, removed: [] })).toBe('saved')
      expect(
        await s.save({ id, isNew: false, meta: meta(600_000, p), set: { b: '2' }, removed: ['a'] }),
      ).toBe('saved')
      expect(await s.touch(id, meta())).toBe(true)
      const moved = newId()
      expect(
        await s.save({
          id: moved,
          previousId: id,
          isNew: false,
          meta: meta(600_000, p),
          set: {},
          removed: [],
        }),
      ).toBe('saved')
      expect((await s.findByPrincipal(p)).map((r) => r.id)).toEqual([moved])
      await s.delete(moved)
      await s.cleanupExpired()
      for (const [sid, write] of [
        [
          newId(),
          (sid: string) => s.save({ id: sid, isNew: false, meta: meta(), set: { c: '3' }, removed: [] }),
        ],
        [
          newId(),
          (sid: string) =>
            s.save({ id: newId(), previousId: sid, isNew: false, meta: meta(), set: {}, removed: [] }),
        ],
      ] as const) {
        await admin.query("INSERT INTO session VALUES ($1, $2, now() + interval '1 hour')", [
          sid,
          JSON.stringify({ cookie: { originalMaxAge: 3_600_000 }, user: 'alice' }),
        ])
        expect(await s.load(sid)).toBeDefined()
        expect(await write(sid)).toBe('saved')
      }
      expect(owner.table).toBe('"granted"')
    } finally {
      await s.close()
      await pool.end()
    }
  })
})
