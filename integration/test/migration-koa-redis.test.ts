import { RedisStore } from '@sessionkit/redis'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBalancer } from '../src/balancer'
import { copyKoaRedisSessions } from '../src/koa-redis-copy'
import type { Client } from './support/client'
import type { Phase } from './support/koa-redis-migration-app'
import {
  type Deploy,
  emptyFigures,
  expectZeros,
  forkServer,
  rollTo,
  USERS,
  User,
  underLoad,
} from './support/rolling-deploy'

/**
 * The koa-session + koa-redis path of docs/MIGRATION.md ("keep your store"), run as an
 * operator runs it: real koa-session 7 servers and @sessionkit/koa servers, both with the real
 * koa-redis 4 as `store`, each its own process, behind a round-robin balancer, one Redis;
 * users log in, then read and write in a loop while the servers are replaced one by one (each
 * new server takes traffic before the old one stops, and the old one finishes what it has in
 * flight), forward and back.
 * The harness (fleet, load, figures): test/support/rolling-deploy.ts.
 */

let redis: RedisServer
/** Servers that exited without being stopped, with their last output. */
const crashes: string[] = []
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(() => redis?.stop())

function startServer(name: string, phase: Phase) {
  return forkServer('koa-redis-migration-app.ts', { name, phase, redisUrl: redis.url }, name, phase, crashes)
}

/** Runs `deploy` under load on three servers of `initial`. */
function deployed(title: string, initial: Phase, deploy: Deploy<Phase>['deploy']) {
  return underLoad<Phase>({ title, initial, crashes, deploy, servers: { start: startServer } })
}

/** Every session koa-redis holds, by key: koa-session's JSON with `_expire` and `_maxAge`. */
async function sessionsInRedis(): Promise<Map<string, Record<string, unknown>>> {
  const client = new Redis(redis.url)
  try {
    const keys = await client.keys('koa:sess:*')
    const values = keys.length ? await client.mget(keys) : []
    return new Map(keys.map((key, i) => [key, JSON.parse(values[i]!) as Record<string, unknown>]))
  } finally {
    client.quit()
  }
}

/** Each user's cookie names a koa-redis record holding that user and their acknowledged count. */
async function expectEveryUserInKoaRedis(users: { name: string; acked: number; client: Client }[]) {
  const sessions = await sessionsInRedis()
  for (const user of users) {
    const key = user.client.jar.get('koa.sess')
    expect(key).toMatch(/^koa:sess:[0-9a-f-]{36}$/)
    expect(sessions.get(key!)).toMatchObject({ user: user.name, counter: user.acked, _maxAge: 30 * 60_000 })
  }
}

describe('koa-session + koa-redis → @sessionkit/koa keeping koa-redis (docs/MIGRATION.md)', () => {
  it('rolling deploy: koa-session + koa-redis → sessionkit', { timeout: 300_000 }, async () => {
    const load = await deployed(
      'rolling deploy: koa-session + koa-redis → sessionkit',
      'koa-session',
      async (fleet, rounds) => {
        await rollTo(fleet, 'sessionkit', rounds)
      },
    )
    // The store's contents are koa-redis records all along: koa-session servers can come back.
    await expectEveryUserInKoaRedis(load.users)
  })

  it('rollback: sessionkit → koa-session + koa-redis', { timeout: 300_000 }, async () => {
    const load = await deployed(
      'rollback: sessionkit → koa-session + koa-redis',
      'sessionkit',
      async (fleet, rounds) => {
        await rollTo(fleet, 'koa-session', rounds)
      },
    )
    await expectEveryUserInKoaRedis(load.users)
  })

  it('leaving koa-redis: bulk copy, then @sessionkit/koa on RedisStore', { timeout: 300_000 }, async () => {
    const client = new Redis(redis.url)
    const balancer = await startBalancer({ backends: [], mode: 'round-robin' })
    try {
      await client.flushall()
      const figures = emptyFigures()
      let server = await startServer('s1', 'sessionkit')
      balancer.setBackends([{ name: 's1:sessionkit', url: server.url }])
      const users = Array.from({ length: USERS }, (_, i) => new User(`user${i + 1}`, balancer.url, figures))
      for (const user of users) {
        await user.login()
        for (let i = 0; i < 3; i++) await user.step(true)
      }
      // The cutover: the last koa-redis server has stopped, nothing writes koa-redis records now.
      await server.stop()
      const target = new RedisStore({ client })
      const cursors: string[] = []
      const report = await copyKoaRedisSessions({
        client,
        target,
        batch: 5,
        onProgress: (p) => cursors.push(p.cursor),
      })
      expect(report).toEqual({ copied: USERS, alreadyThere: 0, expired: 0, unreadable: 0, cursor: '0' })
      // Several SCAN calls: a run stopped midway resumes from the last cursor it reported.
      expect(cursors.length).toBeGreaterThan(1)
      expect(await copyKoaRedisSessions({ client, target })).toMatchObject({ copied: 0, alreadyThere: USERS })

      server = await startServer('s1', 'redis-store')
      balancer.setBackends([{ name: 's1:redis-store', url: server.url }])
      for (const user of users) {
        await user.step(false)
        await user.step(true)
      }
      await server.stop()
      expectZeros(figures)
      expect(crashes).toEqual([])
      expect(figures.acknowledgedWrites).toBe(USERS * 4)
    } finally {
      await balancer.close()
      client.disconnect()
    }
  })
})
