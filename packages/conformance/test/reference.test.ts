import { describeStoreConformance } from '../src/vitest'
import { Backend, plantCorrupt, ReferenceStore } from './fixtures/reference-store'

const backends = new Map<string, Backend>()
const backendFor = (namespace: string) => {
  const backend = backends.get(namespace) ?? new Backend()
  backends.set(namespace, backend)
  return backend
}

// The correct reference store with every hook: every case runs and passes. The hooks are
// synchronous, as hooks may be.
describeStoreConformance({
  name: 'ReferenceStore',
  createStore: ({ namespace }) => new ReferenceStore(backendFor(namespace)),
  makeUnavailable: (store) => {
    backendFor(namespaceOf(store)).down = true
  },
  readRaw: (store, id) => backendFor(namespaceOf(store)).records.get(id),
  corrupt: (store, id) => plantCorrupt(backendFor(namespaceOf(store)), id),
})

function namespaceOf(store: ReferenceStore): string {
  for (const [namespace, backend] of backends) if (store.uses(backend)) return namespace
  throw new Error('store without backend')
}
