import { startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll } from 'vitest'
import { describeConformanceOn } from './support'

// Top-level await: the suite creates a probe store while it is being collected.
const server = await startRedis()
const connect = () => new Redis(server.url)
const shared = connect()
afterAll(async () => {
  shared.disconnect()
  await server.stop()
})

describeConformanceOn('standalone', connect, shared)
