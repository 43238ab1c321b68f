declare module 'koa-redis' {
  /** koa-redis 4 ships no types: an external store for koa-session, over its own ioredis 4. */
  export default function redisStore(options: Record<string, unknown>): {
    get(key: string): Promise<unknown>
    set(key: string, value: unknown, maxAge?: number): Promise<void>
    destroy(key: string): Promise<void>
  }
}
