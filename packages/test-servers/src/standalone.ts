import { type RedisServer, spawnServer } from './server'

export interface StartRedisOptions {
  /** Extra redis-server arguments, e.g. `['--maxmemory', '10mb']`. */
  args?: string[]
}

/**
 * Starts a standalone redis-server on a free loopback port.
 *
 * @example
 * ```ts
 * const server = await startRedis()
 * const client = new Redis(server.url)
 * afterAll(() => server.stop())
 * ```
 */
export function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  return spawnServer({ label: 'redis', args: () => options.args ?? [] })
}
