import { RedisStore } from '@sessionkit/redis'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SuiteApp } from './bindings/adapter'
import { Browser } from './bindings/client'
import { expressAdapter } from './bindings/express'
import { fastifyAdapter } from './bindings/fastify'
import { koaAdapter } from './bindings/koa'

// One Redis, three apps (each with its own client, as separate processes would have), one
// cookie: express-session's name and signed form, the same secret everywhere.
let redis: RedisServer
const clients: Redis[] = []
const apps: Record<'express' | 'koa' | 'fastify', SuiteApp> = {} as never
beforeAll(async () => {
  redis = await startRedis()
  for (const adapter of [expressAdapter, koaAdapter, fastifyAdapter]) {
    const client = new Redis(redis.url)
    clients.push(client)
    apps[adapter.name as keyof typeof apps] = await adapter.start({
      store: new RedisStore({ client }),
      cookie: { maxAge: 3_600_000 },
    })
  }
})
afterAll(async () => {
  await Promise.all(Object.values(apps).map((app) => app.close()))
  await Promise.all(clients.map((client) => client.quit()))
  await redis?.stop()
})

const url = (name: keyof typeof apps, path: string) => `${apps[name].url}${path}`

describe('Express, Koa and Fastify share one session over one Redis', () => {
  it('login on Express, read on Koa, write on Fastify: every app sees the same session', async () => {
    const browser = new Browser()
    await browser.post(url('express', '/login?user=ann'))
    const onKoa = (await browser.get(url('koa', '/me'))).body
    expect(onKoa).toMatchObject({ user: 'ann', a: null })
    await browser.post(url('fastify', '/set?name=a&value=1'))
    await browser.post(url('koa', '/set?name=b&value=2'))
    for (const name of ['express', 'koa', 'fastify'] as const) {
      expect((await browser.get(url(name, '/me'))).body).toEqual({
        id: onKoa.id,
        user: 'ann',
        a: '1',
        b: '2',
      })
    }
  })

  it('a login rotation on Koa is read by Express and Fastify; the old cookie is dead everywhere', async () => {
    const browser = new Browser()
    await browser.post(url('fastify', '/set?name=a&value=cart'))
    const thief = browser.tab()
    await browser.post(url('koa', '/login?user=bea'))
    for (const name of ['express', 'fastify'] as const) {
      expect((await browser.get(url(name, '/me'))).body).toMatchObject({ user: 'bea', a: 'cart' })
      expect((await thief.get(url(name, '/me'))).body).toMatchObject({ user: null, a: null })
    }
  })

  it('revokeAll on Fastify logs out the Koa device; a logout on Koa is a logout on Express', async () => {
    const laptop = new Browser()
    const phone = new Browser()
    await laptop.post(url('express', '/login?user=cy'))
    await phone.post(url('koa', '/login?user=cy'))
    expect((await laptop.post(url('fastify', '/revoke-others'))).body).toEqual({ count: 1 })
    expect((await phone.get(url('koa', '/me'))).body.user).toBeNull()
    expect((await laptop.get(url('koa', '/me'))).body.user).toBe('cy')
    const otherTab = laptop.tab()
    await laptop.post(url('koa', '/logout'))
    expect(laptop.cookie).toBeUndefined()
    expect((await otherTab.get(url('express', '/me'))).body.user).toBeNull()
    expect((await otherTab.get(url('fastify', '/me'))).body.user).toBeNull()
  })
})
