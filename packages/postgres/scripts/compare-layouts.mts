// Compares the two layouts the issue named (JSONB column vs attribute table): latency and WAL bytes per
// create / save of one attribute / load, on a throwaway server. Run: npx tsx scripts/compare-layouts.mts
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { startPostgres } from '../../test-servers/src/index.ts'
import { PostgresStore } from '../src/index.ts'

const server = await startPostgres()
const pool = new pg.Pool({ connectionString: server.url, max: 1 })
const q = (text: string, values: unknown[] = []) => pool.query(text, values)
const store = new PostgresStore({ pool })
await store.createSchema()
await q(`CREATE TABLE s2 (id text PRIMARY KEY, principal text, created_at_ms bigint NOT NULL, last_accessed_at_ms bigint NOT NULL,
  max_inactive_ms bigint NOT NULL, expires_at_ms bigint NOT NULL, expires_at timestamptz NOT NULL);
  CREATE INDEX ON s2 (expires_at);
  CREATE TABLE a2 (sid text NOT NULL REFERENCES s2 (id) ON DELETE CASCADE, name text NOT NULL, value text NOT NULL, PRIMARY KEY (sid, name));`)

const id = () => randomBytes(24).toString('base64url')
const wal = async () => BigInt((await q(`SELECT pg_current_wal_insert_lsn() - '0/0' AS l`)).rows[0].l)

const T2 = {
  create: `WITH s AS (INSERT INTO s2 VALUES ($1, NULL, $2::bigint, $2::bigint, 1800000, $2::bigint + 1800000, now() + interval '30 min') ON CONFLICT DO NOTHING RETURNING id)
    INSERT INTO a2 (sid, name, value) SELECT s.id, e.key, e.value FROM s, jsonb_each_text($3::jsonb) e`,
  save: `WITH s AS (UPDATE s2 SET last_accessed_at_ms = GREATEST(last_accessed_at_ms, $2::bigint), expires_at_ms = GREATEST(expires_at_ms, $2::bigint + 1800000),
      expires_at = GREATEST(expires_at, now() + interval '30 min') WHERE id = $1 AND expires_at > now() RETURNING id),
    u AS (INSERT INTO a2 (sid, name, value) SELECT s.id, e.key, e.value FROM s, jsonb_each_text($3::jsonb) e
      ON CONFLICT (sid, name) DO UPDATE SET value = EXCLUDED.value),
    d AS (DELETE FROM a2 WHERE sid IN (SELECT id FROM s) AND name = ANY($4::text[]))
    SELECT count(*) FROM s`,
  load: `SELECT s.*, (SELECT jsonb_object_agg(name, value)::text FROM a2 WHERE sid = s.id) AS attributes FROM s2 s WHERE id = $1 AND expires_at > now()`,
}

async function measure(label: string, attrs: number, valueBytes: number, n: number) {
  const attributes: Record<string, string> = {}
  for (let i = 0; i < attrs; i++)
    attributes[`attr${i}`] = JSON.stringify(randomBytes(Math.ceil(valueBytes * 0.75)).toString('base64'))
  const ids = Array.from({ length: n }, id)
  const out: Record<string, string> = {}
  const run = async (name: string, fn: (i: number) => Promise<unknown>) => {
    const w0 = await wal()
    const t0 = performance.now()
    for (let i = 0; i < n; i++) await fn(i)
    const ms = (performance.now() - t0) / n
    const bytes = Number((await wal()) - w0) / n
    out[name] = `${(ms * 1000).toFixed(0)} µs, ${bytes.toFixed(0)} B WAL`
  }
  const now = Date.now()
  const meta = { createdAt: now, lastAccessedAt: now, maxInactiveMs: 1_800_000, expiresAt: now + 1_800_000 }
  await run('jsonb create', (i) =>
    store.save({ id: ids[i]!, isNew: true, meta, set: attributes, removed: [] }),
  )
  await run('jsonb save 1 attr', (i) =>
    store.save({ id: ids[i]!, isNew: false, meta, set: { attr0: '"changed"' }, removed: [] }),
  )
  await run('jsonb load', (i) => store.load(ids[i]!))
  await run('table create', (i) => q(T2.create, [ids[i], now, JSON.stringify(attributes)]))
  await run('table save 1 attr', (i) => q(T2.save, [ids[i], now, JSON.stringify({ attr0: '"changed"' }), []]))
  await run('table load', (i) => q(T2.load, [ids[i]]))
  console.log(label, out)
}
await measure('10 attrs x 50 B', 10, 50, 1000)
await measure('100 attrs x 100 B', 100, 100, 500)
await measure('20 attrs x 1000 B', 20, 1000, 500)
await store.close()
await pool.end()
await server.stop()
