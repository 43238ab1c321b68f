import { describeStoreConformance } from '@sessionkit/conformance/vitest'
import { MemoryStore } from '../src/index'

describeStoreConformance({
  name: 'MemoryStore',
  // Each store is its own backend, so the namespace needs no prefixing.
  createStore: () => new MemoryStore(),
  makeUnavailable: (store) => store.close(),
  // The raw layout is the private entry map: whatever it holds, expired or not.
  readRaw: async (store, id) => (store as unknown as { records: Map<string, unknown> }).records.get(id),
  // A record made through the API (so the expiry heap stays whole), then spoiled in place.
  corrupt: async (store, id) => {
    const now = Date.now()
    const meta = { createdAt: now, lastAccessedAt: now, maxInactiveMs: 60_000, expiresAt: now + 60_000 }
    await store.save({ id, isNew: true, meta, set: { a: '"ok"' }, removed: [] })
    const entry = (store as unknown as { records: Map<string, Spoilable> }).records.get(id)!
    entry.meta.createdAt = Number.NaN
    entry.attributes.set('a', '{"trunc')
  },
})

interface Spoilable {
  meta: { createdAt: number }
  attributes: Map<string, string>
}
