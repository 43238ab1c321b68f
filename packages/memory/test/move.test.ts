import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SessionRecord } from '@sessionkit/core'
import { RedisStore } from '@sessionkit/redis'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { importSessions, MemoryStore } from '../src/index'

/**
 * From MemoryStore to a shared store (README, "Moving to a shared store"): every live session
 * created in memory is loadable from a real Redis afterwards, the same in every field.
 */

const SESSIONS = 300
const newId = () => randomBytes(32).toString('base64url')

let server: RedisServer
let client: Redis
let redis: RedisStore
let dir: string
beforeAll(async () => {
  server = await startRedis()
  client = new Redis(server.url)
  redis = new RedisStore({ client, prefix: 'moved:' })
  dir = await mkdtemp(join(tmpdir(), 'memory-move-'))
})
afterAll(async () => {
  client?.disconnect()
  await server?.stop()
  await rm(dir, { recursive: true, force: true })
})

let memory: MemoryStore
beforeEach(async () => {
  await client.flushall()
  memory = new MemoryStore({ maxSessions: 10 * SESSIONS })
})
afterEach(() => memory.close())

/**
 * Sessions as a binding makes them: attributes (one named `__proto__`), an idle timeout that
 * differs per session, a principal on two thirds of them, some used again after creation.
 */
async function populate(): Promise<string[]> {
  const ids: string[] = []
  const now = Date.now()
  for (let i = 0; i < SESSIONS; i++) {
    const id = newId()
    const maxInactiveMs = 60_000 + i * 1_000
    const principal = i % 3 === 0 ? undefined : `user${i % 7}`
    const saved = await memory.save({
      id,
      isNew: true,
      meta: {
        createdAt: now - i,
        lastAccessedAt: now - i,
        maxInactiveMs,
        expiresAt: now - i + maxInactiveMs,
        principal: principal ?? null,
      },
      set: { cookie: '{"path":"/"}', counter: String(i), __proto__: '"not a prototype"' },
      removed: [],
    })
    expect(saved).toBe('saved')
    if (i % 5 === 0)
      await memory.save({
        id,
        isNew: false,
        meta: { createdAt: now, lastAccessedAt: now + 1, expiresAt: now + 1 + maxInactiveMs },
        set: { cart: '[1,2]' },
        removed: ['counter'],
      })
    ids.push(id)
  }
  return ids
}

/** A session that expires `inMs` from now. */
async function expiring(inMs: number): Promise<string> {
  const id = newId()
  const now = Date.now()
  await memory.save({
    id,
    isNew: true,
    meta: {
      createdAt: now,
      lastAccessedAt: now,
      maxInactiveMs: inMs,
      expiresAt: now + inMs,
      principal: 'user1',
    },
    set: { counter: '"doomed"' },
    removed: [],
  })
  return id
}

async function readDump(path: string): Promise<SessionRecord[]> {
  const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean)
  return lines.slice(1).map((line) => JSON.parse(line) as SessionRecord)
}

/** Until the clock is past `instant`: expiry is the event awaited, it has no callback. */
async function pastInstant(instant: number): Promise<void> {
  while (Date.now() <= instant) await new Promise((resolve) => setTimeout(resolve, 5))
}

async function expectAllInRedis(expected: SessionRecord[]) {
  for (const record of expected) expect(await redis.load(record.id)).toEqual(record)
  const byPrincipal = new Map<string, string[]>()
  for (const r of expected)
    if (r.principal) byPrincipal.set(r.principal, [...(byPrincipal.get(r.principal) ?? []), r.id])
  expect(byPrincipal.size).toBe(7)
  for (const [principal, ids] of byPrincipal) {
    const found = (await redis.findByPrincipal(principal)).map((r) => r.id)
    expect(found.sort()).toEqual([...ids].sort())
  }
}

describe('MemoryStore.drainTo a real RedisStore', () => {
  it('carries every live session with its data, principal and expiry; expired ones are not carried', async () => {
    const ids = await populate()
    const doomed = await expiring(500)
    const before = memory.exportSessions()
    expect(before.map((r) => r.id)).toEqual([...ids, doomed])
    await pastInstant(before.at(-1)!.expiresAt)
    const expected = before.slice(0, -1)

    const report = await memory.drainTo(redis, { batch: 64 })

    expect(report).toEqual({ copied: SESSIONS, alreadyThere: 0, expired: 0 })
    await expectAllInRedis(expected)
    expect(await redis.load(doomed)).toBeUndefined()
  })

  it('skips a session the target already holds and leaves it as it was; a second drain copies nothing', async () => {
    const ids = await populate()
    const now = Date.now()
    const newer = {
      createdAt: now,
      lastAccessedAt: now,
      maxInactiveMs: 60_000,
      expiresAt: now + 60_000,
      principal: 'someone',
    }
    await redis.save({ id: ids[0]!, isNew: true, meta: newer, set: { fresh: '"yes"' }, removed: [] })

    expect(await memory.drainTo(redis)).toEqual({ copied: SESSIONS - 1, alreadyThere: 1, expired: 0 })
    expect((await redis.load(ids[0]!))?.attributes).toEqual({ fresh: '"yes"' })
    expect(await memory.drainTo(redis)).toEqual({ copied: 0, alreadyThere: SESSIONS, expired: 0 })
  })

  it('does not count as a use: the eviction order is as requests left it', async () => {
    const small = new MemoryStore({ maxSessions: 2 })
    try {
      const now = Date.now()
      const meta = {
        createdAt: now,
        lastAccessedAt: now,
        maxInactiveMs: 60_000,
        expiresAt: now + 60_000,
        principal: null,
      }
      const [a, b, c] = [newId(), newId(), newId()]
      await small.save({ id: a, isNew: true, meta, set: { x: '1' }, removed: [] })
      await small.save({ id: b, isNew: true, meta, set: { x: '1' }, removed: [] })
      await small.load(b)
      await small.drainTo(redis)
      await small.save({ id: c, isNew: true, meta, set: { x: '1' }, removed: [] })
      expect(await small.peek(a)).toBeUndefined()
      expect(await small.peek(b)).toBeDefined()
    } finally {
      await small.close()
    }
  })
})

describe('MemoryStore.dump, then importSessions after the restart', () => {
  it('carries every live session across the restart of a single server, then deletes the file', async () => {
    const path = join(dir, 'sessions.jsonl')
    const ids = await populate()
    const doomed = await expiring(500)
    const expected = memory.exportSessions().filter((r) => r.id !== doomed)

    expect(await memory.dump(path)).toBe(SESSIONS + 1)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    // The old process ends: everything in memory is gone.
    await memory.close()
    // The doomed session expires while the new version starts.
    await pastInstant((await readDump(path)).find((r) => r.id === doomed)!.expiresAt)

    expect(await importSessions(path, redis, { batch: 50 })).toEqual({
      copied: SESSIONS,
      alreadyThere: 0,
      expired: 1,
    })
    await expectAllInRedis(expected)
    expect(await redis.load(doomed)).toBeUndefined()
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' })

    // A user logs out on the new version; the next restart imports nothing and brings nothing back.
    await redis.delete(ids[1]!)
    expect(await importSessions(path, redis)).toEqual({ copied: 0, alreadyThere: 0, expired: 0 })
    expect(await redis.load(ids[1]!)).toBeUndefined()
  })

  it('refuses a file that is not a dump, and leaves it in place', async () => {
    const path = join(dir, 'not-a-dump.jsonl')
    await writeFile(path, '{"id":"x"}\n')
    await expect(importSessions(path, redis)).rejects.toThrow(/not a MemoryStore dump/)
    expect(await readFile(path, 'utf8')).toBe('{"id":"x"}\n')
  })
})
