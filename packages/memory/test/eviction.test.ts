import { randomBytes } from 'node:crypto'
import type { SessionMeta } from '@sessionkit/core'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../src/index'

const newId = () => randomBytes(24).toString('base64url')
const meta = (principal?: string): SessionMeta => {
  const now = Date.now()
  return { createdAt: now, lastAccessedAt: now, maxInactiveMs: 60_000, expiresAt: now + 60_000, principal }
}
/** What every binding writes for a new session: its cookie settings, in the `cookie` attribute. */
const COOKIE = { cookie: '{"originalMaxAge":null}' }

/** A session as a request without a cookie leaves it under `saveUninitialized: true`. */
async function cookieless(store: MemoryStore): Promise<string> {
  const id = newId()
  expect(await store.save({ id, isNew: true, meta: meta(), set: { ...COOKIE }, removed: [] })).toBe('saved')
  return id
}

/** A session created by a request that wrote data (a login on the first request, a CSRF secret). */
async function withData(store: MemoryStore, principal?: string): Promise<string> {
  const id = newId()
  const set = { ...COOKIE, userId: JSON.stringify(id) }
  expect(await store.save({ id, isNew: true, meta: meta(principal), set, removed: [] })).toBe('saved')
  return id
}

/** A later request writing `req.session.userId = …`, no setPrincipal. */
const login = (store: MemoryStore, id: string) =>
  store.save({ id, isNew: false, meta: meta(), set: { userId: JSON.stringify(id) }, removed: [] })

const opened: MemoryStore[] = []
const open = (maxSessions: number) => {
  const store = new MemoryStore({ maxSessions })
  opened.push(store)
  return store
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()))
})

function recordEvictions(store: MemoryStore): string[] {
  const evicted: string[] = []
  store.on('evicted', ({ id }) => evicted.push(id))
  return evicted
}

describe('eviction order without any principal', () => {
  it('a cookie-less flood never evicts a session a second request used, nor one holding data', async () => {
    const store = open(100)
    const users: string[] = []
    for (let n = 0; n < 10; n++) {
      const id = await cookieless(store)
      await store.load(id)
      expect(await login(store, id)).toBe('saved')
      users.push(id)
    }
    const readers: string[] = []
    for (let n = 0; n < 10; n++) {
      const id = await cookieless(store)
      await store.load(id)
      readers.push(id)
    }
    const firstRequestLogins: string[] = []
    for (let n = 0; n < 10; n++) firstRequestLogins.push(await withData(store))
    const evicted = recordEvictions(store)

    for (let n = 0; n < 10_000; n++) await cookieless(store)

    expect(store.size).toBe(100)
    expect(evicted).toHaveLength(10_000 - 70)
    for (const id of [...users, ...readers, ...firstRequestLogins]) expect(await store.load(id)).toBeDefined()
  })

  it('a flood of sessions holding data evicts each other, never a session a second request used', async () => {
    const store = open(50)
    const users: string[] = []
    for (let n = 0; n < 10; n++) {
      const id = await withData(store)
      await store.load(id)
      users.push(id)
    }
    for (let n = 0; n < 1_000; n++) await withData(store)
    expect(store.size).toBe(50)
    for (const id of users) expect(await store.load(id)).toBeDefined()
  })

  it('gives up, in order: empty single-request, single-request with data, came back (LRU), principal (LRU)', async () => {
    const store = open(8)
    const owned = [await withData(store, 'ada'), await withData(store, 'bob')]
    const returning = [await cookieless(store), await withData(store)]
    const oneRequest = [await withData(store), await withData(store)]
    const empty = [await cookieless(store), await cookieless(store)]
    // Recency within a tier: the first of each pair is used last.
    await store.touch(returning[1]!, meta())
    await store.load(returning[0]!)
    await store.load(owned[1]!)
    await store.load(owned[0]!)
    const evicted = recordEvictions(store)

    for (let n = 0; n < 8; n++) await withData(store, `new${n}`)

    expect(evicted).toEqual([...empty, ...oneRequest, returning[1], returning[0], owned[1], owned[0]])
  })

  it('a rotation keeps the standing of the session it moves', async () => {
    const store = open(3)
    const before = await withData(store)
    const rotated = newId()
    const change = { id: rotated, previousId: before, isNew: false, meta: meta(), set: {}, removed: [] }
    expect(await store.save(change)).toBe('saved')
    const other = await withData(store)
    const third = await cookieless(store)
    const evicted = recordEvictions(store)
    await withData(store)
    await withData(store)
    expect(evicted).toEqual([third, other])
    expect(await store.load(rotated)).toBeDefined()
  })

  it('a session that logs out keeps the standing of one that came back', async () => {
    const store = open(2)
    const id = await withData(store, 'ada')
    expect(
      await store.save({ id, isNew: false, meta: { ...meta(), principal: null }, set: {}, removed: [] }),
    ).toBe('saved')
    await withData(store)
    const evicted = recordEvictions(store)
    await cookieless(store)
    expect(evicted).not.toContain(id)
  })
})

describe('reads that are not a use', () => {
  it('peek answers the live record without changing the eviction order; load does change it', async () => {
    const store = open(3)
    const used = await cookieless(store)
    await store.load(used)
    const [first, second] = [await cookieless(store), await withData(store)]
    for (const id of [used, first, second]) expect((await store.peek(id))?.id).toBe(id)
    expect(await store.peek(newId())).toBeUndefined()
    const evicted = recordEvictions(store)
    await withData(store)
    await withData(store)
    // Peeked, they are still single-request sessions, given up before the one that came back.
    expect(evicted).toEqual([first, second])
    expect(await store.peek(used)).toMatchObject({ id: used, attributes: COOKIE })
  })

  it('peek never answers an expired record', async () => {
    const store = open(3)
    const id = newId()
    const past = { ...meta(), expiresAt: Date.now() - 1 }
    await store.save({ id, isNew: true, meta: past, set: { ...COOKIE }, removed: [] })
    expect(await store.peek(id)).toBeUndefined()
    expect(store.size).toBe(0)
  })
})
