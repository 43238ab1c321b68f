import { afterEach, describe, expect, it } from 'vitest'
// The embedded store, by path: a package dependency would make core and memory a cycle.
import { MemoryStore } from '../../memory/src/index.ts'
import {
  isSessionError,
  type SessionError,
  SessionRepository,
  type SessionRepositoryOptions,
} from '../src/index'

const stores: MemoryStore[] = []
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
})

function setup(options: Partial<SessionRepositoryOptions> = {}) {
  const store = new MemoryStore()
  stores.push(store)
  const repository = new SessionRepository({ store, ...options })
  const errors: SessionError[] = []
  repository.on('error', (err) => errors.push(err))
  return { store, repository, errors }
}

/** Counts store calls by wrapping the real store's methods. */
function count(store: MemoryStore) {
  const calls: string[] = []
  for (const name of ['load', 'save', 'touch', 'delete'] as const) {
    const original = store[name].bind(store) as (...args: unknown[]) => Promise<unknown>
    ;(store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      calls.push(name)
      return original(...args)
    }
  }
  return calls
}

async function untilAfter(instant: number) {
  while (Date.now() <= instant) await new Promise((r) => setTimeout(r, Math.max(1, instant - Date.now() + 1)))
}

describe('SessionRepository change tracking', () => {
  it('saves a new session with its attributes and loads it back', async () => {
    const { repository } = setup()
    const session = repository.create()
    session.data.user = { name: 'ann' }
    expect(await repository.save(session)).toBe('created')
    const loaded = await repository.load(session.id)
    expect(loaded?.data).toEqual({ user: { name: 'ann' } })
    expect(loaded?.isNew).toBe(false)
  })

  it('does not save a new empty session unless saveUninitialized', async () => {
    const { repository, store } = setup()
    const calls = count(store)
    expect(await repository.save(repository.create())).toBe('skipped')
    expect(calls).toEqual([])
    expect(await repository.save(repository.create(), { saveUninitialized: true })).toBe('created')
    expect(await repository.save(repository.create(), { force: true })).toBe('created')
  })

  it('writes only the changed attribute, and catches nested mutation', async () => {
    const { repository, store } = setup()
    const session = repository.create()
    session.data.cart = { items: [] as string[] }
    session.data.theme = 'dark'
    await repository.save(session)
    const loaded = (await repository.load(session.id))!
    ;(loaded.data.cart as { items: string[] }).items.push('apple')
    const saves: unknown[] = []
    const save = store.save.bind(store)
    store.save = (change) => {
      saves.push(change)
      return save(change)
    }
    expect(await repository.save(loaded)).toBe('saved')
    expect(saves).toEqual([expect.objectContaining({ set: { cart: '{"items":["apple"]}' }, removed: [] })])
    expect((await repository.load(session.id))?.data.cart).toEqual({ items: ['apple'] })
  })

  it('removes deleted attributes and those set to undefined', async () => {
    const { repository } = setup()
    const session = repository.create()
    Object.assign(session.data, { a: 1, b: 2, c: 3 })
    await repository.save(session)
    const loaded = (await repository.load(session.id))!
    delete loaded.data.a
    loaded.data.b = undefined
    await repository.save(loaded)
    expect((await repository.load(session.id))?.data).toEqual({ c: 3 })
  })

  it('costs no store call for an unchanged session until a touch is due', async () => {
    const { repository, store } = setup({ touchAfterMs: 60_000 })
    const session = repository.create()
    session.data.a = 1
    await repository.save(session)
    const calls = count(store)
    const loaded = (await repository.load(session.id))!
    expect(await repository.save(loaded)).toBe('unchanged')
    expect(calls).toEqual(['load'])
    expect(await repository.save(loaded, { force: true })).toBe('touched')
    expect(calls).toEqual(['load', 'touch'])
  })

  it('touches an unchanged session once touchAfter has passed, extending expiry', async () => {
    const { repository } = setup({ touchAfterMs: 20, maxInactiveMs: 10_000 })
    const session = repository.create()
    session.data.a = 1
    await repository.save(session)
    const first = session.expiresAt
    await untilAfter(session.lastAccessedAt + 20)
    const loaded = (await repository.load(session.id))!
    expect(await repository.save(loaded)).toBe('touched')
    expect(loaded.expiresAt).toBeGreaterThan(first)
    expect((await repository.load(session.id))!.lastAccessedAt).toBe(loaded.lastAccessedAt)
  })

  it('a rotation writes every attribute left: unchanged, changed, added, never the removed', async () => {
    const { repository } = setup()
    const session = repository.create()
    Object.assign(session.data, { a: 1, b: 2, c: 3, d: { n: 1 } })
    await repository.save(session)
    const loaded = (await repository.load(session.id))!
    delete loaded.data.a
    loaded.data.b = undefined
    ;(loaded.data.d as { n: number }).n = 2
    loaded.data.e = 5
    loaded.changeId()
    expect(await repository.save(loaded)).toBe('saved')
    expect((await repository.load(loaded.id))?.data).toEqual({ c: 3, d: { n: 2 }, e: 5 })
    // What is stored now is what the next diff compares with: nothing changed, nothing written.
    expect(repository.isModified(loaded)).toBe(false)
    loaded.data.c = 4
    expect(await repository.save(loaded)).toBe('saved')
    expect((await repository.load(loaded.id))?.data).toEqual({ c: 4, d: { n: 2 }, e: 5 })
  })

  it('counts unchanged loaded attributes toward maxSizeBytes', async () => {
    const { repository } = setup({ maxSizeBytes: 1000 })
    const session = repository.create()
    session.data.big = 'é'.repeat(400) // 800 bytes in UTF-8
    await repository.save(session)
    const loaded = (await repository.load(session.id))!
    loaded.data.more = 'é'.repeat(100) // 200 more bytes with the unchanged one: over the limit
    await expect(repository.save(loaded)).rejects.toSatisfy((err) => isSessionError(err, 'SESSION_TOO_LARGE'))
    delete loaded.data.big
    expect(await repository.save(loaded)).toBe('saved')
  })

  it('fails with SESSION_TOO_LARGE before the store is called', async () => {
    const { repository, store } = setup({ maxSizeBytes: 1000 })
    const calls = count(store)
    const session = repository.create()
    session.data.big = 'é'.repeat(600) // 1200 bytes in UTF-8, 600 UTF-16 units
    await expect(repository.save(session)).rejects.toSatisfy((err) =>
      isSessionError(err, 'SESSION_TOO_LARGE'),
    )
    expect(calls).toEqual([])
    session.data.big = 'e'.repeat(600)
    expect(await repository.save(session)).toBe('created')
  })

  it('fails with ENCODE_FAILED for values the codec cannot encode', async () => {
    const { repository } = setup()
    const session = repository.create()
    session.data.n = 1n
    await expect(repository.save(session)).rejects.toSatisfy((err) => isSessionError(err, 'ENCODE_FAILED'))
  })
})

describe('SessionRepository expiry', () => {
  it('forgets an idle session after maxInactiveMs and emits expired', async () => {
    const { repository } = setup({ maxInactiveMs: 50 })
    const session = repository.create()
    session.data.a = 1
    await repository.save(session)
    expect(await repository.load(session.id)).toBeDefined()
    await untilAfter(session.expiresAt)
    expect(await repository.load(session.id)).toBeUndefined()
  })

  it('ends a session at the absolute timeout even while it is active', async () => {
    const { repository } = setup({ maxInactiveMs: 60_000, absoluteTimeoutMs: 80, touchAfterMs: 1 })
    const session = repository.create()
    session.data.a = 1
    await repository.save(session)
    expect(session.expiresAt).toBe(session.createdAt + 80)
    const loaded = (await repository.load(session.id))!
    loaded.data.a = 2
    await repository.save(loaded)
    expect(loaded.expiresAt).toBe(session.createdAt + 80)
    await untilAfter(session.createdAt + 80)
    expect(await repository.load(session.id)).toBeUndefined()
  })

  it('never adopts an unknown id', async () => {
    const { repository } = setup()
    expect(await repository.load('A'.repeat(43))).toBeUndefined()
    const fresh = repository.create({ requestedId: 'A'.repeat(43) })
    expect(fresh.id).not.toBe('A'.repeat(43))
    expect(fresh.requestedId).toBe('A'.repeat(43))
  })

  it('refuses an id from a custom generator that it could never load back', async () => {
    const { repository } = setup()
    expect(() => repository.create({ id: 'bad id' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ID', name: 'SessionError' }),
    )
    const session = repository.create()
    await expect(repository.regenerate(session, '../x')).rejects.toSatisfy((err) =>
      isSessionError(err, 'INVALID_ID'),
    )
  })

  it('costs no round trip for a malformed id', async () => {
    const { repository, store } = setup()
    const calls = count(store)
    expect(await repository.load('../../etc/passwd')).toBeUndefined()
    expect(calls).toEqual([])
  })
})

describe('SessionRepository ids, destroy and principals', () => {
  it('changeId moves the data to a new id; the old id stops working', async () => {
    const { repository } = setup()
    const ids: unknown[] = []
    repository.on('idChanged', (change) => ids.push(change))
    const session = repository.create()
    session.data.a = 1
    await repository.save(session)
    const old = session.id
    const loaded = (await repository.load(old))!
    loaded.changeId()
    expect(await repository.save(loaded)).toBe('saved')
    expect(await repository.load(old)).toBeUndefined()
    expect((await repository.load(loaded.id))?.data).toEqual({ a: 1 })
    expect(ids).toEqual([{ previousId: old, id: loaded.id }])
  })

  it('regenerate deletes the old record and starts empty', async () => {
    const { repository } = setup()
    const session = repository.create()
    session.data.a = 1
    await repository.save(session)
    const old = session.id
    session.regenerate()
    expect(session.isNew).toBe(true)
    session.data.b = 2
    expect(await repository.save(session)).toBe('created')
    expect(await repository.load(old)).toBeUndefined()
    expect((await repository.load(session.id))?.data).toEqual({ b: 2 })
  })

  it('destroy deletes; a save of a session deleted meanwhile answers gone and writes nothing', async () => {
    const { repository } = setup()
    const session = repository.create()
    session.data.a = 1
    await repository.save(session)
    const slow = (await repository.load(session.id))!
    const logout = (await repository.load(session.id))!
    logout.destroy()
    expect(await repository.save(logout)).toBe('destroyed')
    slow.data.a = 2
    expect(await repository.save(slow)).toBe('gone')
    expect(await repository.load(session.id)).toBeUndefined()
  })

  it('finds and revokes all sessions of a principal', async () => {
    const { repository } = setup()
    const ids: string[] = []
    for (const owner of ['ann', 'ann', 'ann', 'bob']) {
      const s = repository.create()
      s.setPrincipal(owner)
      await repository.save(s)
      ids.push(s.id)
    }
    expect((await repository.findByPrincipal('ann')).map((s) => s.id).sort()).toEqual(ids.slice(0, 3).sort())
    expect(await repository.destroyAllFor('ann', { except: ids[0] })).toBe(2)
    expect((await repository.findByPrincipal('ann')).map((s) => s.id)).toEqual([ids[0]])
    expect(await repository.load(ids[3]!)).toBeDefined()
  })
})

describe('SessionRepository with bad bytes in the store', () => {
  it('treats an undecodable record as absent and reports CORRUPT_RECORD', async () => {
    const { repository, store, errors } = setup()
    const session = repository.create()
    session.data.a = 1
    await repository.save(session)
    await store.save({
      id: session.id,
      isNew: false,
      meta: {
        createdAt: session.createdAt,
        lastAccessedAt: session.lastAccessedAt,
        maxInactiveMs: session.maxInactiveMs,
        expiresAt: session.expiresAt,
      },
      set: { b: '{"trunc' },
      removed: [],
    })
    expect(await repository.load(session.id)).toBeUndefined()
    expect(errors.map((e) => e.code)).toEqual(['CORRUPT_RECORD'])
  })

  it('never turns a stored __proto__ attribute into a prototype, and removes it on the next save', async () => {
    const { repository, store } = setup()
    const session = repository.create()
    session.data.a = 1
    await repository.save(session)
    const meta = {
      createdAt: session.createdAt,
      lastAccessedAt: session.lastAccessedAt,
      maxInactiveMs: session.maxInactiveMs,
      expiresAt: session.expiresAt,
    }
    await store.save({
      id: session.id,
      isNew: false,
      meta,
      set: { ['__proto__']: '{"admin":true}' },
      removed: [],
    })
    expect(Object.keys((await store.load(session.id))!.attributes).sort()).toEqual(['__proto__', 'a'])
    const loaded = (await repository.load(session.id))!
    expect((loaded.data as Record<string, unknown>).admin).toBeUndefined()
    expect(Object.getPrototypeOf(loaded.data)).toBe(Object.prototype)
    loaded.data.a = 2
    await repository.save(loaded)
    expect(Object.keys((await store.load(session.id))!.attributes)).toEqual(['a'])
  })

  it('wraps a failing store as a SessionError the framework sees', async () => {
    const { repository, store } = setup()
    await store.close()
    await expect(repository.load('A'.repeat(43))).rejects.toSatisfy((err) =>
      isSessionError(err, 'STORE_UNAVAILABLE'),
    )
  })
})

describe('SessionRepository hooks for bindings', () => {
  it('isModified can leave named attributes and the idle timeout out', async () => {
    const { repository } = setup()
    const session = repository.create()
    Object.assign(session.data, { cookie: { originalMaxAge: null }, a: 1 })
    await repository.save(session)
    const loaded = (await repository.load(session.id))!
    expect(repository.isModified(loaded)).toBe(false)
    loaded.data.cookie = { originalMaxAge: 1000 }
    loaded.maxInactiveMs = 1000
    expect(repository.isModified(loaded)).toBe(true)
    expect(repository.isModified(loaded, { ignore: ['cookie'] })).toBe(true)
    expect(repository.isModified(loaded, { ignore: ['cookie'], ignoreTimeout: true })).toBe(false)
    loaded.data.a = 2
    expect(repository.isModified(loaded, { ignore: ['cookie'], ignoreTimeout: true })).toBe(true)
  })

  it('regenerate deletes the old record before it resolves', async () => {
    const { repository } = setup()
    const session = repository.create()
    session.data.a = 1
    await repository.save(session)
    const old = session.id
    await repository.regenerate(session, 'B'.repeat(43))
    expect(session.id).toBe('B'.repeat(43))
    expect(session.storedId).toBeUndefined()
    expect(await repository.load(old)).toBeUndefined()
    expect(await repository.save(session)).toBe('skipped')
  })
})

describe('principals every store can index exactly', () => {
  // A lone surrogate is stored as U+FFFD by Redis (and refused by DynamoDB), an empty string is
  // "no owner" to some backends, and a GSI key holds 2048 bytes: such a principal could never
  // be found again to revoke, so it is refused where the app sets it.
  const refused: [string, unknown][] = [
    ['a lone high surrogate', 'user\uD800'],
    ['a lone low surrogate', '\uDC00user'],
    ['an empty string', ''],
    ['over 1024 UTF-8 bytes', 'é'.repeat(513)],
    ['a number', 42],
  ]
  it.each(refused)(
    'setPrincipal refuses %s with INVALID_PRINCIPAL, and so do the lookups',
    async (_, bad) => {
      const { repository } = setup()
      const session = repository.create()
      expect(() => session.setPrincipal(bad as string)).toThrow(
        expect.objectContaining({ code: 'INVALID_PRINCIPAL' }),
      )
      expect(session.principal).toBeUndefined()
      await expect(repository.destroyAllFor(bad as string)).rejects.toMatchObject({
        code: 'INVALID_PRINCIPAL',
      })
      await expect(repository.findByPrincipal(bad as string)).rejects.toMatchObject({
        code: 'INVALID_PRINCIPAL',
      })
    },
  )

  it('accepts well-formed principals up to 1024 bytes, astral characters included', async () => {
    const { repository } = setup()
    for (const good of ['alice', '😀 ü {x}', 'é'.repeat(512)]) {
      const session = repository.create()
      session.setPrincipal(good)
      await repository.save(session)
      expect((await repository.findByPrincipal(good)).map((s) => s.id)).toEqual([session.id])
      expect(await repository.destroyAllFor(good)).toBe(1)
    }
  })
})
