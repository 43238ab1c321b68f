import { afterEach, describe, expect, it } from 'vitest'
// The embedded store, by path: a package dependency would make core and memory a cycle.
import { MemoryStore } from '../../memory/src/index.ts'
import {
  type Codec,
  isSessionError,
  jsonCodec,
  mergeMeta,
  type SessionChange,
  SessionRepository,
  touchedMeta,
} from '../src/index'

const stores: MemoryStore[] = []
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
})
const memory = () => {
  const store = new MemoryStore()
  stores.push(store)
  return store
}

/** Records every change the repository hands the store. */
function recording() {
  const store = memory()
  const changes: SessionChange[] = []
  const save = store.save.bind(store)
  store.save = (change) => {
    changes.push(structuredClone(change))
    return save(change)
  }
  const touches: unknown[] = []
  const touch = store.touch.bind(store)
  store.touch = (id, meta) => {
    touches.push({ ...meta })
    return touch(id, meta)
  }
  return { store, changes, touches }
}

describe('metadata is a delta', () => {
  it('an update names principal and idle timeout only when this request changed them', async () => {
    const { store, changes, touches } = recording()
    const repository = new SessionRepository({ store })
    const session = repository.create()
    session.data.a = 1
    await repository.save(session)
    expect(changes[0]!.meta).toMatchObject({ principal: null, maxInactiveMs: 86_400_000 })

    const loaded = (await repository.load(session.id))!
    loaded.data.a = 2
    await repository.save(loaded)
    expect(Object.keys(changes[1]!.meta).sort()).toEqual(['createdAt', 'expiresAt', 'lastAccessedAt'])

    loaded.setPrincipal('alice')
    await repository.save(loaded)
    expect(changes[2]!.meta.principal).toBe('alice')
    expect(changes[2]!.meta.maxInactiveMs).toBeUndefined()

    loaded.setPrincipal(undefined)
    loaded.maxInactiveMs = 60_000
    await repository.save(loaded)
    expect(changes[3]!.meta).toMatchObject({ principal: null, maxInactiveMs: 60_000 })

    await repository.save(loaded, { force: true })
    expect(Object.keys(touches[0] as object).sort()).toEqual(['expiresAt', 'lastAccessedAt'])
  })

  it('mergeMeta and touchedMeta apply the rules', () => {
    const stored = {
      createdAt: 1,
      lastAccessedAt: 100,
      maxInactiveMs: 1_000,
      expiresAt: 5_000,
      principal: 'p',
    }
    expect(mergeMeta(stored, { createdAt: 9, lastAccessedAt: 50, expiresAt: 1_050 })).toEqual(stored)
    expect(
      mergeMeta(stored, { createdAt: 9, lastAccessedAt: 50, expiresAt: 1_050, maxInactiveMs: 10 }),
    ).toEqual({
      ...stored,
      maxInactiveMs: 10,
      expiresAt: 1_050,
    })
    expect(
      mergeMeta(stored, { createdAt: 9, lastAccessedAt: 200, expiresAt: 6_000, principal: null }),
    ).toEqual({
      createdAt: 1,
      lastAccessedAt: 200,
      maxInactiveMs: 1_000,
      expiresAt: 6_000,
    })
    const careless = { lastAccessedAt: 50, expiresAt: 9_000, principal: 'q', maxInactiveMs: 1 }
    expect(touchedMeta(stored, careless)).toEqual({ ...stored, expiresAt: 9_000 })
  })
})

describe('timeouts are integers, checked before anything is written', () => {
  it('options: non-integer, non-positive or unsafe timeouts are INVALID_OPTIONS', () => {
    const store = memory()
    for (const bad of [
      { maxInactiveMs: 3_600_000 / 7 },
      { maxInactiveMs: 0 },
      { maxInactiveMs: Number.NaN },
      { maxInactiveMs: 1e16 },
      { absoluteTimeoutMs: 3_600_000 / 7 },
      { absoluteTimeoutMs: Number.POSITIVE_INFINITY },
      { touchAfterMs: -1 },
      { touchAfterMs: 1.5 },
      { touchAfterMs: 86_400_000 },
      { maxInactiveMs: 60_000, touchAfterMs: 60_000 },
    ]) {
      expect(() => new SessionRepository({ store, ...bad }), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      )
    }
    expect(() => new SessionRepository({ store, touchAfterMs: 0 })).not.toThrow()
    expect(() => new SessionRepository({ store, touchAfterMs: Number.POSITIVE_INFINITY })).not.toThrow()
  })

  it('a session idle timeout set by app code: fractional is rounded, NaN or huge refused before any write', async () => {
    const { store, changes } = recording()
    const repository = new SessionRepository({ store })
    const session = repository.create()
    session.data.a = 1
    session.maxInactiveMs = 3_600_000 / 7
    await repository.save(session)
    expect(changes[0]!.meta.maxInactiveMs).toBe(514_286)
    expect(Number.isInteger(changes[0]!.meta.expiresAt)).toBe(true)

    for (const bad of [Number.NaN, 1e16, 1e308, -5, 0]) {
      const loaded = (await repository.load(session.id))!
      loaded.maxInactiveMs = bad
      loaded.data.a = 2
      const err = await repository.save(loaded).catch((e: unknown) => e)
      expect(isSessionError(err, 'INVALID_OPTIONS'), String(bad)).toBe(true)
    }
    expect(changes).toHaveLength(1)
    expect((await repository.load(session.id))?.data).toEqual({ a: 1 })
  })
})

describe('what is saved must load', () => {
  it('a custom codec that cannot read back what it wrote is refused at save, nothing written', async () => {
    const store = memory()
    // Writes anything, reads back only short values: a codec bug that would lose sessions.
    const lossy: Codec = {
      encode: (value) => jsonCodec.encode(value),
      decode: (text) => {
        if (text.length > 20) throw new Error('too long for this codec')
        return jsonCodec.decode(text)
      },
    }
    const repository = new SessionRepository({ store, codec: lossy })
    const session = repository.create()
    session.data.short = 'ok'
    session.data.long = 'x'.repeat(100)
    const err = await repository.save(session).catch((e: unknown) => e)
    expect(isSessionError(err, 'ENCODE_FAILED')).toBe(true)
    expect((err as Error).message).toMatch(/"long".*cannot read back/)
    expect(store.size).toBe(0)
  })

  it('the JSON codec reads back a 3 000-level value with hostile keys, and still drops them', () => {
    let value: unknown = { constructor: { admin: true }, ok: '\u00e9' }
    for (let i = 0; i < 1_500; i++) value = [{ __proto__x: 1, next: value }]
    const decoded = jsonCodec.decode(jsonCodec.encode(value)!)
    let inner = decoded as unknown
    for (let i = 0; i < 1_500; i++) inner = (inner as [{ next: unknown }])[0].next
    expect(inner).toEqual({ ok: '\u00e9' })
    const hostile = jsonCodec.decode('{"\\u005f_proto__":{"admin":true},"a":{"constructor":1}}') as object
    expect(Object.getPrototypeOf(hostile)).toBe(Object.prototype)
    expect(hostile).toEqual({ a: {} })
  })
})
