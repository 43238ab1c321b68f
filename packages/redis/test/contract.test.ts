import { isSessionError, type SessionChange, SessionRepository } from '@sessionkit/core'
import { type RedisServer, startRedis, waitFor } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { RedisStore } from '../src/index'
import { commandsSent, meta, newId } from './support'

// Regression tests for the hardened store contract (issue 14), on a real server.
let server: RedisServer
let shared: Redis
const clients: Redis[] = []
const client = () => {
  const c = new Redis(server.url)
  clients.push(c)
  return c
}

beforeAll(async () => {
  server = await startRedis()
  shared = new Redis(server.url)
})
afterEach(() => {
  vi.useRealTimers()
})
afterAll(async () => {
  for (const c of clients) c.disconnect()
  shared?.disconnect()
  await server?.stop()
})

const whole = (ttlMs = 600_000, principal: string | null = null) => ({ ...meta(ttlMs), principal })
const create = async (
  store: RedisStore,
  set: Record<string, string> = { a: '1' },
  principal: string | null = null,
) => {
  const id = newId()
  expect(await store.save({ id, isNew: true, meta: whole(600_000, principal), set, removed: [] })).toBe(
    'saved',
  )
  return id
}

describe('arguments are checked before the first write (no key without a TTL)', () => {
  it('non-integer metadata is refused with STORE_ERROR and writes nothing', async () => {
    const store = new RedisStore({ client: client(), prefix: 'int:' })
    const id = newId()
    const bad = { ...whole(), maxInactiveMs: 3_600_000 / 7, expiresAt: Date.now() + 3_600_000 / 7 }
    const err = await store
      .save({ id, isNew: true, meta: bad, set: { a: '1' }, removed: [] })
      .catch((e: unknown) => e)
    expect(isSessionError(err, 'STORE_ERROR')).toBe(true)
    expect(await shared.exists(store.key(id))).toBe(0)

    const live = await create(store)
    const before = await shared.hgetall(store.key(live))
    const update: SessionChange = {
      id: live,
      isNew: false,
      meta: { ...meta(), expiresAt: Date.now() + 0.5 },
      set: { a: '2' },
      removed: [],
    }
    expect(isSessionError(await store.save(update).catch((e: unknown) => e), 'STORE_ERROR')).toBe(true)
    expect(
      isSessionError(
        await store.touch(live, { lastAccessedAt: 1.5, expiresAt: 2 }).catch((e: unknown) => e),
        'STORE_ERROR',
      ),
    ).toBe(true)
    expect(await shared.hgetall(store.key(live))).toEqual(before)
    for (const key of await shared.keys('int:*')) expect(await shared.pttl(key), key).toBeGreaterThan(0)
  })

  it('a repository with a fractional timeout set by app code leaves only keys with a TTL', async () => {
    const store = new RedisStore({ client: client(), prefix: 'frac:' })
    const repository = new SessionRepository({ store })
    for (let n = 0; n < 5; n++) {
      const session = repository.create()
      session.data.n = n
      session.maxInactiveMs = 3_600_000 / 7
      expect(await repository.save(session)).toBe('created')
      expect((await repository.load(session.id))?.data).toEqual({ n })
    }
    const keys = await shared.keys('frac:*')
    expect(keys).toHaveLength(5)
    for (const key of keys) expect(await shared.pttl(key)).toBeGreaterThan(500_000)
  })
})

describe('clock skew', () => {
  /** Runs `fn` with this process' Date `skewMs` off (another app server's clock). */
  async function skewed<T>(skewMs: number, fn: () => Promise<T>): Promise<T> {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + skewMs })
    try {
      return await fn()
    } finally {
      vi.useRealTimers()
    }
  }

  it('an app server 20 minutes behind Redis: new sessions live their full idle timeout', async () => {
    const behind = new RedisStore({ client: client(), prefix: 'skew:' })
    const id = newId()
    await skewed(-20 * 60_000, async () => {
      const m = { ...meta(10 * 60_000), principal: null }
      expect(await behind.save({ id, isNew: true, meta: m, set: { a: '1' }, removed: [] })).toBe('saved')
      expect(await behind.load(id)).toBeDefined()
    })
    // Before: PEXPIREAT at the app's epoch, 10 minutes in Redis' past: the key was gone at once.
    expect(await shared.pttl(behind.key(id))).toBeGreaterThan(9 * 60_000)
  })

  it('a store 5 minutes behind against a normal one: the other sees the session, Redis keeps it the full timeout', async () => {
    const behind = new RedisStore({ client: client(), prefix: 'skew2:' })
    const normal = new RedisStore({ client: client(), prefix: 'skew2:' })
    const id = newId()
    await skewed(-5 * 60_000, async () => {
      const m = { ...meta(10 * 60_000), principal: null }
      expect(await behind.save({ id, isNew: true, meta: m, set: { a: '1' }, removed: [] })).toBe('saved')
    })
    // Redis' TTL is relative: 10 minutes whatever the writer's clock said.
    expect(await shared.pttl(normal.key(id))).toBeGreaterThan(9 * 60_000)
    // The stored expiresAt is in the writer's clock: the normal server sees 5 minutes left.
    const seen = await normal.load(id)
    expect(seen).toBeDefined()
    expect(seen!.expiresAt - Date.now()).toBeLessThan(5 * 60_000 + 1_000)
    // Its own touch moves the expiry to its clock (forward only), and the TTL with it.
    expect(await normal.touch(id, { lastAccessedAt: Date.now(), expiresAt: Date.now() + 10 * 60_000 })).toBe(
      true,
    )
    expect((await normal.load(id))!.expiresAt - Date.now()).toBeGreaterThan(9 * 60_000)
    // The laggard's later touch never shortens it.
    await skewed(-5 * 60_000, () =>
      behind.touch(id, { lastAccessedAt: Date.now(), expiresAt: Date.now() + 10 * 60_000 }),
    )
    expect((await normal.load(id))!.expiresAt - Date.now()).toBeGreaterThan(9 * 60_000)
    expect(await shared.pttl(normal.key(id))).toBeGreaterThan(9 * 60_000)
  })
})

describe('rotation: a failure midway never logs the user out, never leaves an orphan', () => {
  /** Resolves when Redis reports `event` on `key` (keyspace notifications, enabled for the test). */
  /**
   * Resolves when Redis reports `event` on `key` (keyspace notifications, enabled for the
   * test), with the `watched` events seen before it.
   */
  async function nextEvent(key: string, event: string, watched?: string): Promise<() => Promise<string[]>> {
    await shared.config('SET', 'notify-keyspace-events', 'Kgh')
    const sub = client()
    await sub.subscribe(`__keyspace@0__:${key}`)
    let seen: () => void = () => {}
    const before: string[] = []
    const happened = new Promise<void>((resolve) => {
      seen = resolve
    })
    sub.on('message', (_channel: string, message: string) => {
      if (message === event) seen()
      else if (message === watched) before.push(message)
    })
    return async () => {
      await happened
      sub.disconnect()
      return before
    }
  }

  it('the create of the new id is held past the bound: STORE_UNAVAILABLE, the old id loads, the late create writes nothing', async () => {
    const store = new RedisStore({ client: client(), prefix: 'rot1:', commandTimeoutMs: 300 })
    const old = await create(store, { a: 'A' }, 'alice')
    const next = newId()
    // Issue 26 item 5: the create runs once the pause ends, past its deadline in Redis' clock,
    // and refuses (before, it landed and the rotation deleted it again).
    const probed = await nextEvent(store.key(next), 'del', 'hset')
    await shared.client('PAUSE', 1_000, 'WRITE')
    const change: SessionChange = {
      id: next,
      previousId: old,
      isNew: false,
      meta: whole(600_000, 'alice'),
      set: { a: 'A' },
      removed: [],
    }
    const err = await store.save(change).catch((e: unknown) => e)
    expect(isSessionError(err, 'STORE_UNAVAILABLE')).toBe(true)
    await store.settled()
    // A delete of our own after the create ran: its notification comes after any of the create's.
    await shared.set(store.key(next), 'probe')
    await shared.del(store.key(next))
    expect(await probed()).toEqual([])
    expect((await store.load(old))?.attributes).toEqual({ a: 'A' })
    expect(await shared.exists(store.key(next))).toBe(0)
    expect(await shared.zrange(store.principalKey('alice'), '0', '-1')).toEqual([old])
  })

  it('the create fails: the old id loads, nothing under the new id', async () => {
    const c = client()
    const store = new RedisStore({ client: c, prefix: 'rot2:' })
    const old = await create(store)
    const next = newId()
    const original = (c as unknown as Record<string, (...args: unknown[]) => unknown>).sessionkitSave!
    ;(c as unknown as Record<string, unknown>).sessionkitSave = () =>
      Promise.reject(new Error('Connection is closed.'))
    const change: SessionChange = {
      id: next,
      previousId: old,
      isNew: false,
      meta: whole(),
      set: { a: '1' },
      removed: [],
    }
    const err = await store.save(change).catch((e: unknown) => e)
    ;(c as unknown as Record<string, unknown>).sessionkitSave = original
    expect(isSessionError(err, 'STORE_UNAVAILABLE')).toBe(true)
    expect(await store.load(old)).toBeDefined()
    expect(await shared.exists(store.key(next))).toBe(0)
  })

  it('taking the old record fails or hangs after the new one exists: saved, the client gets the new id, the old one goes', async () => {
    for (const failure of ['rejects', 'hangs'] as const) {
      const c = client()
      const store = new RedisStore({ client: c, prefix: `rot3${failure}:`, commandTimeoutMs: 500 })
      const old = await create(store, { a: 'A' }, 'bob')
      const next = newId()
      const target = c as unknown as Record<string, unknown>
      const original = target.sessionkitTake
      target.sessionkitTake = () =>
        failure === 'rejects' ? Promise.reject(new Error('Connection is closed.')) : new Promise(() => {})
      const change: SessionChange = {
        id: next,
        previousId: old,
        isNew: false,
        meta: whole(600_000, 'bob'),
        set: { a: 'A' },
        removed: [],
      }
      const result = await store.save(change)
      target.sessionkitTake = original
      expect(result, failure).toBe('saved')
      expect((await store.load(next))?.attributes, failure).toEqual({ a: 'A' })
      if (failure === 'rejects') {
        // The take is sent again in the background until it answers: the old id does not
        // stay alive with the pre-rotation data (issue 18, item 4).
        await store.settled()
        expect(await store.load(old), failure).toBeUndefined()
        expect(await shared.hget(`${store.key(old)}:moved`, 'to'), failure).toBe(next)
      }
      expect(
        (await store.findByPrincipal('bob')).map((r) => r.id),
        failure,
      ).toContain(next)
    }
  })

  it('the take ran but its answer was lost: the copy sent again says moved; saved, old id and its index entry gone', async () => {
    const c = client()
    const store = new RedisStore({ client: c, prefix: 'rot4:', commandTimeoutMs: 500 })
    const old = await create(store, { a: 'A' }, 'erin')
    const next = newId()
    const target = c as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
    const original = target.sessionkitTake!
    target.sessionkitTake = async function lost(this: unknown, ...args: unknown[]) {
      target.sessionkitTake = original
      await original.apply(this, args)
      throw new Error('Connection is closed.')
    }
    const change: SessionChange = {
      id: next,
      previousId: old,
      isNew: false,
      meta: whole(600_000, 'erin'),
      set: { a: 'A' },
      removed: [],
    }
    expect(await store.save(change)).toBe('saved')
    await store.settled()
    expect(await store.load(old)).toBeUndefined()
    expect((await store.load(next))?.attributes).toEqual({ a: 'A' })
    expect(await shared.zrange(store.principalKey('erin'), '0', '-1')).toEqual([next])
  })

  it('rotation onto a taken id: collision, both records as they were, nothing indexed', async () => {
    const store = new RedisStore({ client: client(), prefix: 'rot4:' })
    const old = await create(store, { a: 'mine' })
    const taken = await create(store, { a: 'theirs' }, 'victim')
    const change: SessionChange = {
      id: taken,
      previousId: old,
      isNew: false,
      meta: whole(600_000, 'intruder'),
      set: { a: 'x' },
      removed: [],
    }
    expect(await store.save(change)).toBe('collision')
    expect((await store.load(old))?.attributes).toEqual({ a: 'mine' })
    expect((await store.load(taken))?.attributes).toEqual({ a: 'theirs' })
    expect(await store.findByPrincipal('intruder')).toEqual([])
  })
})

describe('waitForReplicas covers every write', () => {
  it("deletes, both halves of a rotation and index updates are each followed by WAIT, on the store's own connection", async () => {
    // A master with a replica online: the writes wait for it.
    const master = await startRedis()
    const replica = await startRedis({ args: ['--replicaof', master.host, String(master.port)] })
    const observer = new Redis(master.url)
    const c = new Redis(master.url)
    try {
      await waitFor('the replica online', async () => /state=online/.test(await observer.info('replication')))
      const wait = { replicas: 1, timeoutMs: 500 }
      const store = new RedisStore({ client: c, prefix: 'wait:', waitForReplicas: wait })
      // Issue 26 item 3: writes and their WAITs go on a connection of the store's own, never on
      // the one loads use (a WAIT blocks its connection until the replica answers).
      const writer = (store as unknown as { writes: { target: Redis } }).writes.target
      expect(writer).not.toBe(c)
      const id = await create(store, { a: '1' }, 'carol')
      const next = newId()
      // The old index entry is removed in the background once the take answered: wait for it,
      // or a busy machine sends that ZREM + WAIT after the recording ended.
      const rotate = async () => {
        await store.save({
          id: next,
          previousId: id,
          isNew: false,
          meta: whole(600_000, 'carol'),
          set: { a: '1' },
          removed: [],
        })
        await store.settled()
      }
      const onReads: string[] = []
      const rotation = await commandsSent(observer, writer, () =>
        commandsSent(observer, c, rotate).then((seen) => onReads.push(...seen)),
      )
      const del = await commandsSent(observer, writer, async () => {
        await store.delete(next)
        await store.settled()
      })
      // A script's first use on a connection is an EVAL, then EVALSHA: the same write.
      const scripted = (commands: string[]) => commands.map((name) => (name === 'eval' ? 'evalsha' : name))
      // create + WAIT, index add + WAIT, take + WAIT, index removal + WAIT
      expect(scripted(rotation.filter((name) => name !== 'echo'))).toEqual([
        'evalsha',
        'wait',
        'evalsha',
        'wait',
        'evalsha',
        'wait',
        'zrem',
        'wait',
      ])
      expect(onReads).toEqual([])
      // delete + WAIT, index removal + WAIT
      expect(scripted(del)).toEqual(['evalsha', 'wait', 'zrem', 'wait'])
      await store.close()
    } finally {
      c.disconnect()
      observer.disconnect()
      await replica.stop()
      await master.stop()
    }
  })

  it("the store's own write connection: a save right after construction works with enableOfflineQueue: false", async () => {
    const c = new Redis(server.url, { enableOfflineQueue: false })
    clients.push(c)
    await new Promise((resolve) => c.once('ready', resolve))
    // No replica here: 'accept' saves without one.
    const store = new RedisStore({
      client: c,
      prefix: 'wait3:',
      waitForReplicas: { replicas: 1, timeoutMs: 50, onShortfall: 'accept' },
    })
    expect(await store.save({ id: newId(), isNew: true, meta: meta(), set: { a: '1' }, removed: [] })).toBe(
      'saved',
    )
    await store.close()
  })

  it('a delete that reached too few replicas is reported (a failover could bring the session back)', async () => {
    const store = new RedisStore({
      client: client(),
      prefix: 'wait2:',
      waitForReplicas: { replicas: 1, timeoutMs: 5 },
    })
    const lenient = new RedisStore({ client: client(), prefix: 'wait2:' })
    const id = await create(lenient)
    const err = await store.delete(id).catch((e: unknown) => e)
    expect(isSessionError(err, 'STORE_UNAVAILABLE')).toBe(true)
  })
})

describe('the principal index is written once the outcome is known', () => {
  it('a gone save, or many racing a delete, leave no index entry', async () => {
    const store = new RedisStore({ client: client(), prefix: 'idx:' })
    const id = await create(store, { a: '1' }, 'dave')
    await store.delete(id)
    const saves = Array.from({ length: 5 }, () =>
      store.save({ id, isNew: false, meta: { ...meta(), principal: 'dave' }, set: { b: '2' }, removed: [] }),
    )
    expect(await Promise.all(saves)).toEqual(['gone', 'gone', 'gone', 'gone', 'gone'])
    expect(await shared.exists(store.principalKey('dave'))).toBe(0)
  })

  it('a collision indexes nothing under the intruder', async () => {
    const store = new RedisStore({ client: client(), prefix: 'idx2:' })
    const id = await create(store, { a: '1' }, 'victim')
    expect(
      await store.save({ id, isNew: true, meta: whole(600_000, 'intruder'), set: {}, removed: [] }),
    ).toBe('collision')
    expect(await shared.exists(store.principalKey('intruder'))).toBe(0)
  })
})

describe('what a store accepts it gives back', () => {
  it('65 000 attributes save, update and load (no arguments spread into one call)', async () => {
    const store = new RedisStore({ client: client(), prefix: 'many:' })
    const attributes = Object.fromEntries(Array.from({ length: 65_000 }, (_, i) => [`attr${i}`, String(i)]))
    const id = await create(store, attributes)
    expect(Object.keys((await store.load(id))!.attributes)).toHaveLength(65_000)
    const removed = Array.from({ length: 30_000 }, (_, i) => `attr${i}`)
    expect(await store.save({ id, isNew: false, meta: meta(), set: { extra: 'x' }, removed })).toBe('saved')
    expect(Object.keys((await store.load(id))!.attributes)).toHaveLength(35_001)
  })

  it('attributes named like Object.prototype members are removed', async () => {
    const store = new RedisStore({ client: client(), prefix: 'proto:' })
    const names = ['toString', 'constructor', '__proto__', 'valueOf']
    const id = await create(store, Object.fromEntries(names.map((n) => [n, n])))
    expect(await store.save({ id, isNew: false, meta: meta(), set: {}, removed: names })).toBe('saved')
    expect(Object.keys(await shared.hgetall(store.key(id))).filter((f) => f.startsWith('a:'))).toEqual([])
  })
})
