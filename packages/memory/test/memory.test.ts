import { randomBytes } from 'node:crypto'
import { isSessionError, type SessionMeta } from '@sessionkit/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MemoryStore } from '../src/index'

const newId = () => randomBytes(32).toString('base64url')
const meta = (ttlMs = 60_000, principal?: string): SessionMeta => {
  const now = Date.now()
  return { createdAt: now, lastAccessedAt: now, maxInactiveMs: ttlMs, expiresAt: now + ttlMs, principal }
}
const create = async (store: MemoryStore, m: SessionMeta = meta()) => {
  const id = newId()
  expect(await store.save({ id, isNew: true, meta: m, set: { a: id }, removed: [] })).toBe('saved')
  return id
}
/** The principal index is private; a leak there is invisible to every public method. */
const indexOf = (store: MemoryStore) =>
  (store as unknown as { byPrincipal: Map<string, Set<string>> }).byPrincipal

const opened: MemoryStore[] = []
const open = (options?: ConstructorParameters<typeof MemoryStore>[0]) => {
  const store = new MemoryStore(options)
  opened.push(store)
  return store
}
afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(opened.splice(0).map((s) => s.close()))
})

describe('least-recently-used eviction', () => {
  it('evicts the session used longest ago once maxSessions is reached', async () => {
    const store = open({ maxSessions: 3 })
    const [a, b, c] = [await create(store), await create(store), await create(store)]
    await store.load(a)
    const d = await create(store)
    expect(store.size).toBe(3)
    expect(await store.load(b)).toBeUndefined()
    for (const id of [a, c, d]) expect(await store.load(id)).toBeDefined()
  })

  it('counts saves and touches as use, not findByPrincipal', async () => {
    const store = open({ maxSessions: 3 })
    // All logged in: recency decides among sessions of one kind.
    const [a, b, c] = [
      await create(store, meta(60_000, 'p')),
      await create(store, meta(60_000, 'q')),
      await create(store, meta(60_000, 'r')),
    ]
    await store.touch(b, meta())
    await store.save({ id: c, isNew: false, meta: meta(), set: { x: '1' }, removed: [] })
    await store.findByPrincipal('p')
    await create(store)
    expect(await store.load(a)).toBeUndefined()
  })

  it('cleans the principal index of an evicted session', async () => {
    const store = open({ maxSessions: 1 })
    await create(store, meta(60_000, 'ada'))
    const next = await create(store, meta(60_000, 'bob'))
    expect(await store.findByPrincipal('ada')).toEqual([])
    expect([...indexOf(store).keys()]).toEqual(['bob'])
    expect((await store.findByPrincipal('bob')).map((r) => r.id)).toEqual([next])
  })

  it('drops expired sessions before evicting a live one', async () => {
    vi.useFakeTimers()
    const store = open({ maxSessions: 2 })
    const live = await create(store, meta(60_000))
    await create(store, meta(100))
    vi.advanceTimersByTime(200)
    await create(store)
    expect(await store.load(live)).toBeDefined()
  })
})

describe('sweep', () => {
  it('drops expired records and their index entries on the interval, keeping live ones', async () => {
    vi.useFakeTimers()
    const store = open({ sweepIntervalMs: 1_000 })
    for (let i = 0; i < 5; i++) await create(store, meta(500, 'ada'))
    const live = await create(store, meta(5_000, 'bob'))
    expect(store.size).toBe(6)
    vi.advanceTimersByTime(999)
    expect(store.size).toBe(6)
    vi.advanceTimersByTime(1)
    expect(store.size).toBe(1)
    expect([...indexOf(store).keys()]).toEqual(['bob'])
    expect(await store.load(live)).toBeDefined()
  })

  it('keeps sweeping touched sessions at their new expiry', async () => {
    vi.useFakeTimers()
    const store = open({ sweepIntervalMs: 1_000 })
    const id = await create(store, meta(500))
    await store.touch(id, meta(1_500))
    vi.advanceTimersByTime(1_000)
    expect(store.size).toBe(1)
    vi.advanceTimersByTime(1_000)
    expect(store.size).toBe(0)
  })
})

describe('lifecycle', () => {
  it('does not keep the process alive', () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    const before = timers()
    open({ sweepIntervalMs: 10 })
    expect(timers()).toBe(before)
  })

  it('rejects every operation after close, and closes twice harmlessly', async () => {
    const store = open()
    const id = await create(store)
    await store.close()
    await store.close()
    expect(store.size).toBe(0)
    const attempts = [store.load(id), store.touch(id, meta()), store.delete(id), store.findByPrincipal('x')]
    for (const attempt of attempts) {
      const error = await attempt.then(
        () => undefined,
        (err: unknown) => err,
      )
      expect(isSessionError(error, 'STORE_UNAVAILABLE')).toBe(true)
    }
  })

  it('rejects invalid options with INVALID_OPTIONS', () => {
    for (const options of [
      { maxSessions: 0 },
      { maxSessions: 1.5 },
      { sweepIntervalMs: 0 },
      { sweepIntervalMs: Number.NaN },
    ]) {
      expect(() => new MemoryStore(options)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    }
  })

  it('keeps the index and heap consistent through rotations and principal changes', async () => {
    const store = open()
    const id = await create(store, meta(60_000, 'ada'))
    const next = newId()
    await store.save({
      id: next,
      previousId: id,
      isNew: false,
      meta: meta(60_000, 'ada'),
      set: {},
      removed: [],
    })
    await store.touch(next, meta(60_000, 'bob'))
    expect([...indexOf(store).entries()], 'a touch never writes the owner').toEqual([
      ['ada', new Set([next])],
    ])
    await store.save({ id: next, isNew: false, meta: meta(60_000, 'bob'), set: {}, removed: [] })
    expect([...indexOf(store).entries()]).toEqual([['bob', new Set([next])]])
    await store.delete(next)
    expect(indexOf(store).size).toBe(0)
    expect(store.size).toBe(0)
  })
})

describe('enumeration', () => {
  it('ids() lists the live sessions only; clear() deletes them all and keeps the store open', async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] })
    const store = open()
    const owned = await create(store, meta(60_000, 'ada'))
    const anonymous = await create(store)
    await create(store, meta(1_000))
    vi.advanceTimersByTime(2_000)
    expect(store.ids().sort()).toEqual([owned, anonymous].sort())
    expect(store.size).toBe(2)
    await store.clear()
    expect(store.ids()).toEqual([])
    expect(store.size).toBe(0)
    expect(await store.findByPrincipal('ada')).toEqual([])
    const again = await create(store, meta(60_000, 'ada'))
    expect(store.ids()).toEqual([again])
    expect((await store.findByPrincipal('ada')).map((r) => r.id)).toEqual([again])
  })

  it('ids() and clear() reject after close like every operation', async () => {
    const store = open()
    await store.close()
    expect(() => store.ids()).toThrow(/closed/)
    expect(isSessionError(await store.clear().catch((err: unknown) => err), 'STORE_UNAVAILABLE')).toBe(true)
  })
})

describe('eviction prefers sessions without a principal', () => {
  it('a flood of cookie-less sessions never evicts a logged-in user', async () => {
    const store = open({ maxSessions: 100 })
    const users = [] as string[]
    for (let n = 0; n < 10; n++) users.push(await create(store, meta(60_000, `user${n}`)))
    const evicted: { id: string; principal: string | undefined }[] = []
    store.on('evicted', (e) => evicted.push(e))
    // 10 000 requests without a cookie, each saving a new anonymous session (saveUninitialized).
    for (let n = 0; n < 10_000; n++) await create(store)
    expect(store.size).toBe(100)
    for (const id of users) expect(await store.load(id)).toBeDefined()
    expect(evicted).toHaveLength(10_000 - 90)
    expect(evicted.every((e) => e.principal === undefined)).toBe(true)
  })

  it('evicts the least recently used logged-in session only when all have a principal, with an event', async () => {
    const store = open({ maxSessions: 2 })
    const a = await create(store, meta(60_000, 'ada'))
    const b = await create(store, meta(60_000, 'bob'))
    await store.load(a)
    const evicted: { id: string; principal: string | undefined }[] = []
    store.on('evicted', (e) => evicted.push(e))
    await create(store, meta(60_000, 'cy'))
    expect(evicted).toEqual([{ id: b, principal: 'bob' }])
    expect(await store.findByPrincipal('bob')).toEqual([])
  })

  it('a session that logs in moves to the protected queue; one that logs out leaves it', async () => {
    const store = open({ maxSessions: 2 })
    const a = await create(store)
    const b = await create(store)
    await store.save({ id: a, isNew: false, meta: meta(60_000, 'ada'), set: {}, removed: [] })
    const c = await create(store)
    expect(await store.load(a)).toBeDefined()
    expect(await store.load(b)).toBeUndefined()
    await store.save({ id: a, isNew: false, meta: { ...meta(), principal: null }, set: {}, removed: [] })
    await store.load(c)
    await create(store)
    expect(await store.load(a)).toBeUndefined()
    expect(await store.load(c)).toBeDefined()
  })

  it('expired sessions are dropped without an event', async () => {
    vi.useFakeTimers()
    const store = open({ maxSessions: 1 })
    await create(store, meta(100, 'ada'))
    const evicted: unknown[] = []
    store.on('evicted', (e) => evicted.push(e))
    vi.advanceTimersByTime(200)
    await create(store)
    expect(evicted).toEqual([])
  })
})
