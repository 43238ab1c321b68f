import { Redis } from 'ioredis'
import { createClient } from 'redis'
import type { ServerConfig } from '../matrix'

/** The ioredis client our Redis store gets, as the README recommends it. */
export function ioredisClient(config: ServerConfig): Redis {
  return new Redis(need(config.redisUrl, 'redisUrl'), {
    enableAutoPipelining: config.variant === 'ours-redis-autopipeline',
  })
}

/** The node-redis client connect-redis gets, connected. */
export async function nodeRedisClient(config: ServerConfig) {
  const client = createClient({ url: need(config.redisUrl, 'redisUrl') })
  await client.connect()
  return client
}

export function need<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`server config lacks ${name}`)
  return value
}
