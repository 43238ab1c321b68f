import type { SessionStore } from '@sessionkit/core'
import { RedisStore } from '@sessionkit/redis'
import type { ServerConfig } from '../matrix'
import { ioredisClient } from './clients'
import { dynamoStoreFor } from './dynamo'
import { postgresStoreFor } from './postgres'

/** Our store for a variant; `undefined` means the binding's default (the memory store). */
export async function oursStore(config: ServerConfig): Promise<SessionStore | undefined> {
  switch (config.variant) {
    case 'ours-memory':
      return undefined
    case 'ours-redis':
    case 'ours-redis-plain':
      return new RedisStore({ client: ioredisClient(config) })
    case 'ours-dynamodb':
      return dynamoStoreFor(config)
    case 'ours-postgres':
      return postgresStoreFor(config)
    default:
      throw new Error(`${config.variant} is not one of ours`)
  }
}
