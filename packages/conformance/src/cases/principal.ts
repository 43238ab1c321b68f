import type { SessionStore } from '@sessionkit/core'
import assert from '../assert'
import {
  assertAttributes,
  create,
  createAndTouchInTime,
  freshMeta,
  newId,
  newPrincipal,
  sortedIds,
  waitUntilPast,
} from '../helpers'
import type { ConformanceCase } from '../types'

const find = async (store: SessionStore, principal: string) =>
  sortedIds(await store.findByPrincipal!(principal))

export const principalCases: readonly ConformanceCase[] = [
  {
    id: 'principal/exact',
    title: 'findByPrincipal returns exactly the live sessions of that principal, as loaded',
    requires: ['principalIndex'],
    async run({ store }) {
      // Glob, key-syntax and case lookalikes must not match each other.
      const p = newPrincipal('Us:{er}* ü😀 ')
      const lookalikes = [p.toUpperCase(), p.slice(0, -1), `${p}x`, `${p.slice(0, 4)}*`]
      const s1 = await create(store, { n: '1' }, freshMeta({ principal: p }))
      const s2 = await create(store, { n: '2' }, freshMeta({ principal: p }))
      const gone = await create(store, { n: '3' }, freshMeta({ principal: p }))
      for (const other of lookalikes) await create(store, { n: other }, freshMeta({ principal: other }))
      await create(store, { n: 'anonymous' })
      await store.delete(gone.id)
      assert.equal(
        await store.save({ id: s1.id, isNew: false, meta: s1.meta, set: { n: '1b' }, removed: [] }),
        'saved',
      )

      const found = await store.findByPrincipal!(p)
      assert.deepEqual(sortedIds(found), [s1.id, s2.id].sort())
      const byId = new Map(found.map((r) => [r.id, r]))
      assertAttributes(byId.get(s1.id), { n: '1b' }, 'found records carry their current attributes')
      assert.equal(byId.get(s2.id)?.principal, p)
      assert.deepEqual(await find(store, newPrincipal('nobody')), [])
    },
  },
  {
    id: 'principal/delete',
    title: 'delete removes the session from its principal’s index',
    requires: ['principalIndex'],
    async run({ store }) {
      const p = newPrincipal()
      const { id } = await create(store, {}, freshMeta({ principal: p }))
      await store.delete(id)
      assert.deepEqual(await find(store, p), [], 'a deleted session is still listed for its principal')
    },
  },
  {
    id: 'principal/rotation',
    title: 'rotation moves the principal index entry to the new id',
    requires: ['principalIndex'],
    async run({ store }) {
      const p = newPrincipal()
      const { id: old } = await create(store, { a: '1' }, freshMeta({ principal: p }))
      const next = newId()
      const meta = freshMeta({ principal: p })
      assert.equal(
        await store.save({ id: next, previousId: old, isNew: false, meta, set: { a: '1' }, removed: [] }),
        'saved',
      )
      assert.deepEqual(await find(store, p), [next])
    },
  },
  {
    id: 'principal/change',
    title: 'a save with another principal (or null) moves the index entry; one without keeps it',
    requires: ['principalIndex'],
    async run({ store }) {
      const p = newPrincipal('p')
      const q = newPrincipal('q')
      const { id } = await create(store, { a: '1' }, freshMeta({ principal: p }))
      assert.equal(
        await store.save({ id, isNew: false, meta: freshMeta({ principal: q }), set: {}, removed: [] }),
        'saved',
      )
      assert.deepEqual(await find(store, p), [], 'the old principal still lists the session')
      assert.deepEqual(await find(store, q), [id])
      // No principal in the change: unchanged, the entry stays.
      assert.equal(
        await store.save({ id, isNew: false, meta: freshMeta(), set: { b: '2' }, removed: [] }),
        'saved',
      )
      assert.deepEqual(await find(store, q), [id], 'a save that did not change the owner dropped the entry')
      assert.equal(
        await store.save({
          id,
          isNew: false,
          meta: { ...freshMeta(), principal: null },
          set: {},
          removed: [],
        }),
        'saved',
      )
      assert.deepEqual(await find(store, q), [], 'a session without principal is still indexed')
      assert.equal((await store.load(id))?.principal, undefined)
      assert.equal(await store.touch(id, freshMeta({ principal: p })), true)
      assert.deepEqual(await find(store, p), [], 'a touch wrote a principal')
    },
  },
  {
    id: 'principal/expiry',
    title: 'an expired session is not listed for its principal',
    requires: ['principalIndex'],
    timing: true,
    async run({ store }) {
      const p = newPrincipal()
      const short = freshMeta({ principal: p }, 150)
      await create(store, {}, short)
      const { id: live } = await create(store, {}, freshMeta({ principal: p }))
      await waitUntilPast(short.expiresAt)
      assert.deepEqual(await find(store, p), [live])
    },
  },
  {
    id: 'principal/touch-extends',
    title: 'a touched session stays listed past its former expiresAt',
    requires: ['principalIndex'],
    timing: true,
    async run({ store }) {
      // Index entries carry their own expiry: touch must move it along (Spring Session's stale sets).
      const p = newPrincipal()
      const { id, meta } = await createAndTouchInTime(store, {}, p)
      await waitUntilPast(meta.expiresAt)
      assert.deepEqual(await find(store, p), [id])
    },
  },
  {
    id: 'principal/collision',
    title: 'a create that collides indexes nothing under the intruder’s principal',
    requires: ['principalIndex'],
    async run({ store }) {
      const victim = newPrincipal('victim')
      const intruder = newPrincipal('intruder')
      const { id } = await create(store, { a: '1' }, freshMeta({ principal: victim }))
      const meta = { ...freshMeta(), principal: intruder }
      assert.equal(await store.save({ id, isNew: true, meta, set: {}, removed: [] }), 'collision')
      assert.deepEqual(
        await find(store, intruder),
        [],
        'a collision indexed the victim’s session under the intruder’s principal',
      )
      assert.deepEqual(await find(store, victim), [id])
    },
  },
  {
    id: 'principal/returns-copy',
    title: 'mutating records findByPrincipal returned changes nothing stored',
    requires: ['principalIndex'],
    async run({ store }) {
      const p = newPrincipal()
      const { id } = await create(store, { a: '1' }, freshMeta({ principal: p }))
      const [found] = await store.findByPrincipal!(p)
      assert.ok(found)
      found.attributes.a = 'mutated'
      found.principal = 'intruder'
      found.expiresAt = 0
      const [again] = await store.findByPrincipal!(p)
      assertAttributes(again, { a: '1' }, 'findByPrincipal handed out stored objects (references)')
      assertAttributes(
        await store.load(id),
        { a: '1' },
        'findByPrincipal handed out stored objects (references)',
      )
    },
  },
  {
    id: 'principal/longest',
    title: 'the longest principal core accepts (1024 UTF-8 bytes, astral characters) is found exactly',
    requires: ['principalIndex'],
    async run({ store }) {
      // Core refuses principals that are empty, over 1024 bytes or not well-formed
      // (INVALID_PRINCIPAL); every principal it lets through must round-trip byte for byte.
      const tail = newPrincipal('')
      const p = '\u{1F600}'.repeat((1024 - tail.length) / 4 - 1) + tail
      const padded = p + 'é'.repeat((1024 - Buffer.byteLength(p)) >> 1)
      assert.ok(Buffer.byteLength(padded) <= 1024 && Buffer.byteLength(padded) >= 1020)
      const s = await create(store, { n: '1' }, freshMeta({ principal: padded }))
      const found = await store.findByPrincipal!(padded)
      assert.deepEqual(sortedIds(found), [s.id], 'a 1024-byte principal was not found')
      assert.equal(found[0]?.principal, padded, 'the principal did not round-trip exactly')
    },
  },
]
