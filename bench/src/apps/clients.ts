import { Redis } from 'ioredis'
import { createClient } from 'redis'
import type { ServerConfig } from '../matrix'

/**
 * The ioredis client our Redis store gets: as packages/redis/README.md recommends it
 * (autopipelining: the commands of concurrent requests share socket writes, as node-redis
 * does by default), or with ioredis' defaults for the comparison cell.
 */
export function ioredisClient(config: ServerConfig): Redis {
  const url = need(config.redisUrl, 'redisUrl')
  return config.variant === 'ours-redis-plain'
    ? new Redis(url)
    : new Redis(url, { enableAutoPipelining: true })
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
