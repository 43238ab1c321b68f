import type { SessionStore } from '@sessionkit/core'
import { MemoryStore } from '@sessionkit/memory'
import { RedisStore } from '@sessionkit/redis'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe } from 'vitest'
import type { BindingAdapter } from './bindings/adapter'
import { expressAdapter } from './bindings/express'
import { fastifyAdapter } from './bindings/fastify'
import { koaAdapter } from './bindings/koa'
import { bindingBehaviour, crossFramework } from './bindings/suite'

// Every binding, one row each.
const BINDINGS: BindingAdapter[] = [expressAdapter, fastifyAdapter, koaAdapter]

let redis: RedisServer
const clients: Redis[] = []
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await Promise.all(clients.splice(0).map((client) => client.quit()))
  await redis?.stop()
})

// Memory: one store per test, shared by that test's apps. Redis: a new client per app (as
// separate processes would have) onto one server.
let memory: MemoryStore | undefined
const STORES: [string, () => () => SessionStore][] = [
  [
    'memory',
    () => {
      memory = new MemoryStore()
      const shared = memory
      return () => shared
    },
  ],
  [
    'redis',
    () => () => {
      const client = new Redis(redis.url)
      clients.push(client)
      return new RedisStore({ client })
    },
  ],
]

describe.each(STORES)('over %s', (_name, storeFactory) => {
  for (const binding of BINDINGS) {
    describe(binding.name, () => {
      let current: () => SessionStore = () => {
        throw new Error('no store yet')
      }
      beforeAll(() => {
        current = storeFactory()
      })
      bindingBehaviour(binding, () => current())
    })
  }
  for (const first of BINDINGS) {
    for (const second of BINDINGS) {
      if (first === second) continue
      describe(`${first.name} then ${second.name}`, () => {
        let current: () => SessionStore = () => {
          throw new Error('no store yet')
        }
        beforeAll(() => {
          current = storeFactory()
        })
        crossFramework(first, second, () => current())
      })
    }
  }
})
