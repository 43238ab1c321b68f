import { describeStoreConformance } from '@sessionkit/conformance/vitest'
import { MemoryStore } from '../src/index'

describeStoreConformance({
  name: 'MemoryStore',
  // Each store is its own backend, so the namespace needs no prefixing.
  createStore: () => new MemoryStore(),
  makeUnavailable: (store) => store.close(),
  // The raw layout is the private entry map: whatever it holds, expired or not.
  readRaw: async (store, id) => (store as unknown as { records: Map<string, unknown> }).records.get(id),
})
