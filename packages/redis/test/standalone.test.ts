import { describeStoreConformance } from '@sessionkit/conformance/vitest'
import { startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll } from 'vitest'
import { owned, ownedStore, readRaw } from './support'

// Top-level await: the suite creates a probe store while it is being collected.
const server = await startRedis()
const shared = new Redis(server.url)
afterAll(async () => {
  shared.disconnect()
  await server.stop()
})

describeStoreConformance({
  name: 'RedisStore (standalone)',
  createStore: ({ namespace }) => ownedStore(new Redis(server.url), namespace),
  disposeStore: (store) => owned.get(store)?.disconnect(),
  // The store's own client goes away; the shared server keeps serving the concurrent cases.
  makeUnavailable: async (store) => owned.get(store)!.disconnect(),
  readRaw: (store, id) => readRaw(store, id, shared),
})
