export {
  type EvictedSession,
  MemoryStore,
  type MemoryStoreEvents,
  type MemoryStoreOptions,
} from './memory-store'
