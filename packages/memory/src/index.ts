export {
  type EvictedSession,
  MemoryStore,
  type MemoryStoreEvents,
  type MemoryStoreOptions,
} from './memory-store'
export { type CopyOptions, type CopyReport, copySessions, importSessions } from './move'
