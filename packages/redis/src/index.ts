export { RedisStore, type RedisStoreOptions } from './store'
