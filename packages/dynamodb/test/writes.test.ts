import { randomBytes } from 'node:crypto'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { isSessionError } from '@sessionkit/core'
import { afterAll, describe, expect, it } from 'vitest'
import { created, delta, meta, newId, readRaw, sharedServer, storeOn } from './support'

const admin = new DynamoDBClient(sharedServer())
afterAll(() => admin.destroy())

describe('rotation is one transaction', () => {
  it('a transaction that fails (the new id is taken) leaves the old session exactly as it was', async () => {
    const store = storeOn(admin)
    const old = await created(store, { cart: '["apple"]', user: '"alice"' }, meta(600_000, 'rot-owner'))
    const before = await readRaw(admin, old)
    const taken = await created(store, { other: 'x' })
    const result = await store.save({
      id: taken,
      previousId: old,
      isNew: false,
      meta: meta(600_000, 'rot-owner'),
      set: { cart: '["apple","pear"]', user: '"alice"' },
      removed: [],
    })
    expect(result).toBe('collision')
    expect(await readRaw(admin, old)).toEqual(before)
    expect((await store.load(old))?.attributes).toEqual({ cart: '["apple"]', user: '"alice"' })
    expect((await store.load(taken))?.attributes).toEqual({ other: 'x' })
    expect((await store.findByPrincipal('rot-owner')).map((r) => r.id)).toEqual([old])
  })

  it('a rotation refused before sending (too large) leaves the old session too', async () => {
    const store = storeOn(admin)
    const old = await created(store, { a: '1' })
    const huge = randomBytes(600_000).toString('base64')
    const next = newId()
    await expect(
      store.save({ id: next, previousId: old, isNew: false, meta: meta(), set: { huge }, removed: [] }),
    ).rejects.toSatisfy((err) => isSessionError(err, 'SESSION_TOO_LARGE'))
    expect((await store.load(old))?.attributes).toEqual({ a: '1' })
    expect(await readRaw(admin, next)).toBeUndefined()
  })
})

describe('metadata delta (DynamoDB has no max(): conditions and a fallback)', () => {
  it('a stale writer never shortens expiry, keeps the principal it did not change, and its attributes land', async () => {
    const store = storeOn(admin)
    const principal = `delta-${newId().slice(0, 8)}`
    const first = meta(600_000)
    const id = await created(store, { cart: '[]' }, first)
    // B logs in and raises the idle timeout to 30 days.
    const fresh = { ...meta(30 * 86_400_000, principal) }
    expect(await store.save({ id, isNew: false, meta: fresh, set: { user: '"alice"' }, removed: [] })).toBe(
      'saved',
    )
    // A loaded before B and only changed the cart: its expiry is the old, shorter one.
    const stale = delta({
      createdAt: first.createdAt,
      lastAccessedAt: first.lastAccessedAt,
      expiresAt: first.expiresAt,
    })
    expect(await store.save({ id, isNew: false, meta: stale, set: { cart: '["apple"]' }, removed: [] })).toBe(
      'saved',
    )
    const loaded = await store.load(id)
    expect(loaded?.attributes).toEqual({ cart: '["apple"]', user: '"alice"' })
    expect(loaded?.expiresAt).toBe(fresh.expiresAt)
    expect(loaded?.lastAccessedAt).toBe(fresh.lastAccessedAt)
    expect(loaded?.maxInactiveMs).toBe(fresh.maxInactiveMs)
    expect(loaded?.principal).toBe(principal)
    expect((await store.findByPrincipal(principal)).map((r) => r.id)).toEqual([id])
    const ttl = Number((await readRaw(admin, id))?.ttl?.N)
    expect(ttl).toBe(Math.ceil(fresh.expiresAt / 1000) + 3600)

    // A stale touch does not shorten it either, and still answers true (the session is live).
    expect(await store.touch(id, { lastAccessedAt: first.lastAccessedAt, expiresAt: first.expiresAt })).toBe(
      true,
    )
    expect((await store.load(id))?.expiresAt).toBe(fresh.expiresAt)
  })

  it('a request that changes the idle timeout may shorten the expiry; principal null removes the owner', async () => {
    const store = storeOn(admin)
    const principal = `delta-${newId().slice(0, 8)}`
    const id = await created(store, {}, meta(3_600_000, principal))
    const shorter = meta(60_000)
    expect(
      await store.save({
        id,
        isNew: false,
        meta: delta({ ...shorter, principal: null }),
        set: {},
        removed: [],
      }),
    ).toBe('saved')
    const loaded = await store.load(id)
    expect(loaded?.expiresAt).toBe(shorter.expiresAt)
    expect(loaded?.maxInactiveMs).toBe(60_000)
    expect(loaded?.principal).toBeUndefined()
    expect(await store.findByPrincipal(principal)).toEqual([])
  })
})
