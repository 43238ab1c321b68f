import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Phase } from './support/koa-cookie-migration-app'
import { type Deploy, forkServer, rollTo, type Server, USERS, underLoad } from './support/rolling-deploy'

/**
 * The koa-session cookie-mode path of docs/MIGRATION.md, run as an operator runs it: real
 * koa-session 7 servers and @sessionkit/koa servers, each its own process, behind a
 * round-robin balancer, one Redis; users log in, then read and write in a loop while the
 * servers are replaced one by one (each new server takes traffic before the old one stops,
 * and the old one finishes what it has in flight), forward through the phases and back.
 * The harness (fleet, load, figures): test/support/rolling-deploy.ts.
 */

/** `middleware.migration` of @sessionkit/koa with a store (null on the other phases). */
type MigrationCounts = { cookieSessions: number; storeSessions: number; moved: number } | null

let redis: RedisServer
/** Servers that exited without being stopped, with their last output. */
const crashes: string[] = []
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(() => redis?.stop())

/**
 * Runs `deploy` under load on three servers of `initial`; returns the load and the counts of
 * every server, read from its admin route before it stops, summed per phase.
 */
async function deployed(title: string, initial: Phase, deploy: Deploy<Phase>['deploy']) {
  const counts: Record<string, { cookieSessions: number; storeSessions: number; moved: number }> = {}
  const load = await underLoad<Phase>({
    title,
    initial,
    crashes,
    deploy,
    servers: {
      start: (name, phase) =>
        forkServer('koa-cookie-migration-app.ts', { name, phase, redisUrl: redis.url }, name, phase, crashes),
      async beforeStop(server: Server<Phase>) {
        const body = (await (await fetch(`${server.url}/migration`)).json()) as { migration: MigrationCounts }
        if (!body.migration) return
        const sum = counts[server.phase] ?? { cookieSessions: 0, storeSessions: 0, moved: 0 }
        counts[server.phase] = sum
        sum.cookieSessions += body.migration.cookieSessions
        sum.storeSessions += body.migration.storeSessions
        sum.moved += body.migration.moved
      },
    },
    summary: () => [`middleware.migration summed per phase: ${JSON.stringify(counts)}`],
  })
  return { load, counts }
}

async function sessionKeysInRedis(): Promise<number> {
  const client = new Redis(redis.url)
  try {
    return (await client.keys('sess:*')).length
  } finally {
    client.quit()
  }
}

describe('koa-session cookie mode → @sessionkit/koa store mode (docs/MIGRATION.md)', () => {
  it('rolling deploy: koa-session cookie mode → sessionkit', { timeout: 300_000 }, async () => {
    const { load, counts } = await deployed(
      'rolling deploy: koa-session cookie mode → sessionkit',
      'koa-session',
      async (fleet, rounds) => {
        await rollTo(fleet, 'cookie', rounds)
        await rollTo(fleet, 'migrate', rounds)
        // Nothing is in the store until the finish: koa-session servers could still come back.
        expect(await sessionKeysInRedis()).toBe(0)
        await rollTo(fleet, 'store', rounds)
      },
    )
    // Every user wrote after the finish: every session now lives in Redis, the cookie holds its key.
    for (const user of load.users) expect(user.client.jar.get('koa.sess')).toMatch(/^[0-9a-f-]{36}$/)
    expect(await sessionKeysInRedis()).toBeGreaterThanOrEqual(USERS)
    // Each session moved once, by its first write on a finished server; migrate servers moved none.
    expect(counts.store?.moved).toBe(USERS)
    expect(counts.migrate?.moved).toBe(0)
  })

  it('rollback: sessionkit → koa-session cookie mode', { timeout: 300_000 }, async () => {
    const keysBefore = await sessionKeysInRedis()
    const { counts } = await deployed(
      'rollback: sessionkit → koa-session cookie mode',
      'koa-session',
      async (fleet, rounds) => {
        await rollTo(fleet, 'migrate', rounds)
        await rollTo(fleet, 'koa-session', rounds)
      },
    )
    expect(await sessionKeysInRedis()).toBe(keysBefore)
    // What tells the operator the rollback was safe: no session was ever served from the store.
    expect(counts.migrate).toMatchObject({ storeSessions: 0, moved: 0 })
    expect(counts.migrate?.cookieSessions).toBeGreaterThan(0)
  })

  it('rollback: sessionkit finish → sessionkit migrate', { timeout: 300_000 }, async () => {
    const keysBefore = await sessionKeysInRedis()
    const { counts } = await deployed(
      'rollback: sessionkit finish → sessionkit migrate',
      'migrate',
      async (fleet, rounds) => {
        await rollTo(fleet, 'store', rounds, [0, 1])
        await rollTo(fleet, 'migrate', rounds, [0, 1])
      },
    )
    // Sessions moved during the finish stay in the store and are served from it by migrate servers.
    expect(await sessionKeysInRedis()).toBeGreaterThan(keysBefore)
    expect(counts.store?.moved).toBeGreaterThan(0)
    expect(counts.migrate?.storeSessions).toBeGreaterThan(0)
  })
})
