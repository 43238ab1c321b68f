import { RedisStore } from '@sessionkit/redis'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Framework, Phase } from './support/connect-redis-migration-app'
import { type Deploy, forkServer, ROUNDS, rollTo, USERS, underLoad } from './support/rolling-deploy'

/**
 * The connect-redis paths of docs/MIGRATION.md, run as an operator runs them: real
 * express-session 1.19 / @fastify/session 11 servers on connect-redis (node-redis) and
 * @sessionkit/express / @sessionkit/fastify servers on @sessionkit/redis, each its own process,
 * behind a round-robin balancer, one Redis. Users log in, then read and write in a loop while
 * the servers are replaced one by one (each new server takes traffic before the old one stops,
 * and the old one finishes what it has in flight), forward through the phases and back.
 * The harness (fleet, load, figures): test/support/rolling-deploy.ts.
 */

/**
 * Users who log in at the start and come back only at the end: their sessions are never
 * written during the deploy, so the finish's bulk conversion is what moves them.
 */
const IDLE = 6

let redis: RedisServer
/** Servers that exited without being stopped, with their last output. */
const crashes: string[] = []
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(() => redis?.stop())

/** Runs `deploy` under load (USERS + IDLE users) on three `framework` servers of `initial`. */
function deployed(title: string, framework: Framework, initial: Phase, deploy: Deploy<Phase>['deploy']) {
  return underLoad<Phase>({
    title,
    initial,
    crashes,
    deploy,
    idle: IDLE,
    servers: {
      start: (name, phase) =>
        forkServer(
          'connect-redis-migration-app.ts',
          { name, framework, phase, redisUrl: redis.url },
          name,
          phase,
          crashes,
        ),
    },
  })
}

/** The operator's tool (docs/MIGRATION.md): sessions per format. */
async function count() {
  const client = new Redis(redis.url)
  try {
    return await new RedisStore({ client, legacy: { prefix: 'sess:' } }).migration!.count()
  } finally {
    client.disconnect()
  }
}

/** The finish's one-off script (docs/MIGRATION.md), run while users keep working. */
async function convertAll() {
  const client = new Redis(redis.url)
  try {
    // docs/MIGRATION.md's script, as written there.
    return await new RedisStore({ client, legacy: { prefix: 'sess:' } }).migration!.convert({
      batch: 500,
      ratePerSecond: 2000,
    })
  } finally {
    client.disconnect()
  }
}

const PEERS: Record<Framework, string> = {
  express: 'express-session + connect-redis',
  fastify: '@fastify/session + connect-redis',
}

describe.each(['express', 'fastify'] as const)(
  '%s: connect-redis → @sessionkit/redis (docs/MIGRATION.md)',
  (framework) => {
    const peer = PEERS[framework]

    it(`rolling deploy: ${peer} → sessionkit`, { timeout: 300_000 }, async () => {
      await redisFlush()
      await deployed(
        `rolling deploy: ${peer} → sessionkit`,
        framework,
        'peer',
        async (fleet, rounds, notes) => {
          await rollTo(fleet, 'keep', rounds)
          // Phase 1 wrote nothing in sessionkit's layout: the peers could still come back.
          const kept = await count()
          notes.push(`after phase 1 (keep): ${JSON.stringify(kept)}`)
          expect(kept).toEqual({ legacy: USERS + IDLE, sessionkit: 0 })
          await rollTo(fleet, 'switch', rounds)
          const started = performance.now()
          const converted = await convertAll()
          notes.push(
            `convert under load: ${JSON.stringify(converted)} in ${(performance.now() - started).toFixed(0)} ms; then ${JSON.stringify(await count())}`,
          )
          expect(converted.converted).toBeGreaterThanOrEqual(IDLE)
          expect((await count()).legacy).toBe(0)
          await rounds(ROUNDS)
          await rollTo(fleet, 'finish', rounds)
        },
      )
      expect(await count()).toEqual({ legacy: 0, sessionkit: USERS + IDLE })
    })

    it(`rollback: sessionkit → ${peer}`, { timeout: 300_000 }, async () => {
      await redisFlush()
      // Users log in on sessionkit servers (phase 1), then the deploy is rolled back to the peer
      // one server at a time, and deployed again.
      await deployed(`rollback: sessionkit → ${peer}`, framework, 'keep', async (fleet, rounds, notes) => {
        const before = await count()
        notes.push(`before the rollback: ${JSON.stringify(before)}`)
        // What tells the operator a rollback to the peer is safe: nothing in sessionkit's layout.
        expect(before).toEqual({ legacy: USERS + IDLE, sessionkit: 0 })
        await rollTo(fleet, 'peer', rounds)
        await rollTo(fleet, 'keep', rounds)
      })
      expect(await count()).toEqual({ legacy: USERS + IDLE, sessionkit: 0 })
    })

    it(`rollback: sessionkit switch → sessionkit keep (${framework})`, { timeout: 300_000 }, async () => {
      await redisFlush()
      await deployed(
        `rollback: switch → keep (${framework})`,
        framework,
        'keep',
        async (fleet, rounds, notes) => {
          await rollTo(fleet, 'switch', rounds, [0, 1])
          notes.push(`two servers on switch: ${JSON.stringify(await count())}`)
          await rollTo(fleet, 'keep', rounds, [0, 1])
        },
      )
      // Sessions moved by the switch servers stay in sessionkit's layout; keep servers serve them there.
      expect((await count()).sessionkit).toBeGreaterThan(0)
    })
  },
)

async function redisFlush() {
  const client = new Redis(redis.url)
  await client.flushall()
  client.disconnect()
}
