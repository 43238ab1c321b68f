export type { ConvertOptions, ConvertProgress, LegacyCount, LegacyMigration } from './legacy-tools'
export { RedisStore, type RedisStoreOptions } from './store'
