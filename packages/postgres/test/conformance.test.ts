import { describeStoreConformance } from '@sessionkit/conformance/vitest'
import { startPostgres } from '@sessionkit/test-servers'
import { afterAll } from 'vitest'
import { dispose, newPool, owned, storeOn } from './support'

// Top-level await: the suite creates a probe store while it is being collected.
const server = await startPostgres()
const admin = newPool(server.url)
afterAll(async () => {
  await admin.end()
  await server.stop()
})

// One table per case (its namespace); every store, the peer included, on a pool of its own.
describeStoreConformance({
  name: 'PostgresStore',
  createStore: ({ namespace }) => storeOn(server.url, namespace),
  disposeStore: dispose,
  // The store's own pool goes away; the server keeps serving the concurrent cases.
  makeUnavailable: async (store) => {
    await owned.get(store)!.end()
  },
  readRaw: async (store, id) =>
    (await admin.query(`SELECT * FROM ${store.table} WHERE id = $1`, [id])).rows[0],
  // What a foreign writer leaves: an attribute that is no string, next to a good one.
  corrupt: async (store, id) => {
    await admin.query(
      `INSERT INTO ${store.table} (id, created_at_ms, last_accessed_at_ms, max_inactive_ms, expires_at_ms, expires_at, attributes)
       VALUES ($1, 0, 0, 60000, $2, now() + interval '1 minute', '{"cart": {"items": [1]}, "ok": "1"}')`,
      [id, Date.now() + 60_000],
    )
  },
})
