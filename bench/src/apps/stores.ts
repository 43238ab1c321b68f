import { RedisStore } from '@sessionkit/redis'
import type { ServerConfig } from '../matrix'

/** A sessionkit store (the SessionStore SPI of @sessionkit/core), as the bindings accept it. */
export type SessionStore = RedisStore

import { ioredisClient } from './clients'

/**
 * Our store for a variant; `undefined` means the binding's default (the memory store).
 * The DynamoDB store is imported only when that cell runs, so the harness works before the
 * package exports one.
 */
export async function oursStore(config: ServerConfig): Promise<SessionStore | undefined> {
  switch (config.variant) {
    case 'ours-memory':
      return undefined
    case 'ours-redis':
    case 'ours-redis-plain':
      return new RedisStore({ client: ioredisClient(config) })
    case 'ours-dynamodb':
      return dynamoStore(config)
    default:
      throw new Error(`${config.variant} is not one of ours`)
  }
}

async function dynamoStore(config: ServerConfig): Promise<SessionStore> {
  const { dynamoStoreFor } = await import('./dynamo')
  return dynamoStoreFor(config)
}
