import { describeStoreConformance } from '@sessionkit/conformance/vitest'
import { MapStore } from './map-store'

describeStoreConformance({
  name: 'MapStore',
  createStore: ({ namespace }) => new MapStore(namespace),
})
