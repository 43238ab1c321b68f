import type { SessionChange } from '@sessionkit/core'
import assert from '../assert'
import {
  assertAttributes,
  assertMeta,
  create,
  createAndExtendInTime,
  eachTrial,
  freshMeta,
  interleave,
  newId,
  newPrincipal,
  RACE_TRIALS,
  racers,
  waitUntilPast,
} from '../helpers'
import type { ConformanceCase } from '../types'

const update = (id: string, set: Record<string, string>, removed: string[] = []): SessionChange => ({
  id,
  isNew: false,
  meta: freshMeta(),
  set,
  removed,
})

export const saveCases: readonly ConformanceCase[] = [
  {
    id: 'save/copies-input',
    title: 'mutating a change or touch argument after the call changes nothing stored',
    async run({ store }) {
      const id = newId()
      const meta = freshMeta()
      const change: SessionChange = {
        id,
        isNew: true,
        meta: { ...meta, principal: null },
        set: { a: '1' },
        removed: [],
      }
      assert.equal(await store.save(change), 'saved')
      change.set.a = 'mutated'
      change.set.b = 'added'
      change.meta.expiresAt = 0
      assertAttributes(await store.load(id), { a: '1' }, 'attributes after mutating the saved change')
      assertMeta(await store.load(id), meta, 'metadata after mutating the saved change')

      // The same for an update and a touch: a store must not keep the caller's objects.
      const next = freshMeta({ createdAt: meta.createdAt }, 2 * meta.maxInactiveMs)
      const update: SessionChange = { id, isNew: false, meta: { ...next }, set: { c: '3' }, removed: [] }
      assert.equal(await store.save(update), 'saved')
      update.set.c = 'mutated'
      update.meta.expiresAt = 1
      update.meta.maxInactiveMs = 1
      const touch = { lastAccessedAt: next.lastAccessedAt + 1, expiresAt: next.expiresAt + 1 }
      assert.equal(
        await store.touch(id, touch),
        true,
        'the session died after mutating the saved update’s meta (store keeps references)',
      )
      touch.expiresAt = 2
      touch.lastAccessedAt = 2
      const loaded = await store.load(id)
      assertAttributes(
        loaded,
        { a: '1', c: '3' },
        'attributes after mutating an update after saving it (store keeps references)',
      )
      assertMeta(
        loaded,
        { ...next, lastAccessedAt: next.lastAccessedAt + 1, expiresAt: next.expiresAt + 1 },
        'metadata after mutating an update or touch argument (store keeps references)',
      )
    },
  },
  {
    id: 'save/attribute-merge',
    title: 'saves merge attributes; concurrent saves of different attributes all persist',
    async run(ctx) {
      const { store } = ctx
      const { id } = await create(store, { keep: 'k', b: '1' })
      assert.equal(await store.save(update(id, { b: '2' })), 'saved')
      assertAttributes(
        await store.load(id),
        { keep: 'k', b: '2' },
        'a save touches only the attributes it names',
      )

      // Across instances (own connections where the store has them), in varied interleavings:
      // a save that reads the record and writes it back loses the other instance's attribute.
      const [a, b] = await racers(ctx)
      await eachTrial(RACE_TRIALS / 2, async (n) => {
        const { id: raced } = await create(a, { keep: 'k' })
        const results = await interleave(
          n,
          () => a.save(update(raced, { fromStore: 'a' })),
          () => b.save(update(raced, { fromPeer: 'b' })),
        )
        assert.deepEqual(
          results,
          ['saved', 'saved'],
          'two saves of different attributes must both answer saved',
        )
        assertAttributes(
          await a.load(raced),
          { keep: 'k', fromStore: 'a', fromPeer: 'b' },
          `no concurrent save may lose another one (two instances, interleaving ${n}: the save is not atomic, a read-then-write lost an attribute)`,
        )
      })
      const names = Array.from({ length: 8 }, (_, i) => `parallel${i}`)
      const results = await Promise.all(
        names.map((name, i) => (i % 2 === 0 ? a : b).save(update(id, { [name]: name }))),
      )
      assert.deepEqual(
        results,
        names.map(() => 'saved'),
        'concurrent saves of different attributes must all answer saved',
      )
      const expected = Object.fromEntries([['keep', 'k'], ['b', '2'], ...names.map((n) => [n, n])])
      assertAttributes(await store.load(id), expected, 'no concurrent save may lose another one')
    },
  },
  {
    id: 'save/same-attribute-race',
    title: 'concurrent saves of one attribute leave one of the values, others intact',
    async run(ctx) {
      const [store, peer] = await racers(ctx)
      const { id } = await create(store, { other: 'o' })
      const values = ['a', 'b', 'c', 'd']
      await Promise.all(values.map((v, i) => (i % 2 === 0 ? store : peer).save(update(id, { x: v }))))
      const loaded = await store.load(id)
      assert.ok(loaded, 'the session vanished after concurrent saves of one attribute')
      assert.ok(
        values.includes(loaded.attributes.x ?? ''),
        `concurrent saves of one attribute must leave one of the values written: x is ${loaded.attributes.x}`,
      )
      assert.equal(loaded.attributes.other, 'o', 'concurrent saves of one attribute changed another one')
    },
  },
  {
    id: 'save/set-remove',
    title: 'set and removed apply together; removing every attribute keeps the session',
    async run({ store }) {
      const { id } = await create(store, { a: 'A', b: 'B', c: 'C' })
      assert.equal(await store.save(update(id, { b: 'B2', d: 'D' }, ['a', 'never-existed'])), 'saved')
      assertAttributes(await store.load(id), { b: 'B2', c: 'C', d: 'D' }, 'set and removed in one save')

      assert.equal(await store.save(update(id, {}, ['b', 'c', 'd'])), 'saved')
      assertAttributes(await store.load(id), {}, 'a session without attributes still exists')

      assert.equal(await store.save(update(id, { b: 'again' })), 'saved')
      assertAttributes(await store.load(id), { b: 'again' }, 'an attribute removed earlier can be set again')
    },
  },
  {
    id: 'save/writes-meta',
    title: 'a save writes the owner and idle timeout it carries, and keeps them when it carries none',
    async run({ store }) {
      const { id, meta } = await create(store, { a: '1' })
      const next = freshMeta(
        { createdAt: meta.createdAt, lastAccessedAt: meta.lastAccessedAt + 1_000 },
        3_600_000,
      )
      next.principal = newPrincipal()
      assert.equal(await store.save({ id, isNew: false, meta: next, set: {}, removed: [] }), 'saved')
      const loaded = await store.load(id)
      assertMeta(loaded, next, 'metadata after a save that changed owner and idle timeout')
      assertAttributes(loaded, { a: '1' }, 'attributes after a metadata-only save')

      // A save that changed neither carries neither: the stored ones stay.
      const later = {
        createdAt: meta.createdAt,
        lastAccessedAt: next.lastAccessedAt + 1,
        expiresAt: next.expiresAt + 1,
      }
      assert.equal(await store.save({ id, isNew: false, meta: later, set: { b: '2' }, removed: [] }), 'saved')
      assertMeta(
        await store.load(id),
        { ...next, ...later },
        'a save without principal or maxInactiveMs dropped the stored ones (metadata is a delta)',
      )

      // null removes the owner.
      assert.equal(
        await store.save({ id, isNew: false, meta: { ...later, principal: null }, set: {}, removed: [] }),
        'saved',
      )
      assert.equal((await store.load(id))?.principal, undefined, 'principal: null must remove the owner')
    },
  },
  {
    id: 'save/stale-writer',
    title: 'a stale writer neither undoes owner and idle timeout nor shortens the expiry',
    async run({ store, capabilities }) {
      // Requests A and B load one session. B logs alice in and raises the idle timeout to 30
      // days; A, which only changed `cart`, saves after it with what it loaded.
      const day = 86_400_000
      const { id, meta } = await create(store, { cart: '[]' }, freshMeta({}, day))
      const principal = newPrincipal('alice')
      const b = freshMeta({ createdAt: meta.createdAt, principal }, 30 * day)
      assert.equal(await store.save({ id, isNew: false, meta: b, set: {}, removed: [] }), 'saved')
      const a = {
        createdAt: meta.createdAt,
        lastAccessedAt: b.lastAccessedAt - 5,
        expiresAt: b.lastAccessedAt - 5 + day,
      }
      assert.equal(
        await store.save({ id, isNew: false, meta: a, set: { cart: '["apple"]' }, removed: [] }),
        'saved',
      )
      const loaded = await store.load(id)
      assertAttributes(loaded, { cart: '["apple"]' }, 'the stale writer’s attribute')
      assertMeta(loaded, b, 'a stale save overwrote principal, idle timeout or expiry set by a fresher one')
      if (capabilities.principalIndex) {
        const found = await store.findByPrincipal!(principal)
        assert.deepEqual(
          found.map((r) => r.id),
          [id],
          'after a stale save the session is no longer listed for its principal ("log out everywhere" would miss it)',
        )
      }

      // A save that changed the idle timeout writes its expiry even when shorter.
      const shorter = freshMeta({ createdAt: meta.createdAt }, 60_000)
      assert.equal(await store.save({ id, isNew: false, meta: shorter, set: {}, removed: [] }), 'saved')
      assertMeta(
        await store.load(id),
        { ...shorter, principal },
        'a save that changed maxInactiveMs must write its (shorter) expiresAt',
      )
    },
  },
  {
    id: 'save/remove-odd-names',
    title: 'removal deletes attributes named like Object.prototype members',
    async run({ store }) {
      const names = [
        'toString',
        'constructor',
        '__proto__',
        'valueOf',
        'hasOwnProperty',
        'isPrototypeOf',
        '__defineGetter__',
        'toLocaleString',
      ]
      const { id } = await create(
        store,
        Object.fromEntries([...names.map((n) => [n, `v-${n}`]), ['keep', 'k']]),
      )
      assert.equal(await store.save(update(id, {}, names)), 'saved')
      assertAttributes(
        await store.load(id),
        { keep: 'k' },
        'removal skipped attributes named like Object.prototype members (an `in` check where an own-property check was meant)',
      )
    },
  },
  {
    id: 'save/extends-expiry',
    title: 'a saved session outlives its former expiresAt (the backend TTL follows the save)',
    timing: true,
    async run({ store }) {
      const { id, meta } = await createAndExtendInTime(store, { a: '1' }, 'save')
      await waitUntilPast(meta.expiresAt)
      assertAttributes(
        await store.load(id),
        { a: '1', extended: 'yes' },
        'a save extended expiresAt but the session expired at its old instant (backend TTL not extended)',
      )
    },
  },
  {
    id: 'save/no-resurrection',
    title: 'saving a deleted or never-saved session answers gone and writes nothing',
    async run({ store }) {
      const { id } = await create(store, { a: '1' })
      await store.delete(id)
      assert.equal(await store.save(update(id, { b: '2' })), 'gone', 'a save after delete must answer gone')
      assert.equal(await store.load(id), undefined, 'a save after delete recreated the session')

      const never = newId()
      assert.equal(
        await store.save(update(never, { b: '2' })),
        'gone',
        'a save of a never-saved id must answer gone',
      )
      assert.equal(await store.load(never), undefined, 'a save of a never-saved id created it')
    },
  },
  {
    id: 'save/race-delete',
    title: 'a save racing a delete never resurrects the session',
    async run(ctx) {
      const [store, peer] = await racers(ctx)
      const trials = await eachTrial(RACE_TRIALS, async (n) => {
        const { id } = await create(store, { a: '1' })
        // The save from one instance, the delete from the other, alternating which is which.
        const [saver, deleter] = n % 4 < 2 ? [store, peer] : [peer, store]
        const [result] = await interleave(
          n,
          () => saver.save(update(id, { b: '2' })),
          () => deleter.delete(id),
        )
        return { id, n, result }
      })
      for (const { id, n, result } of trials) {
        assert.ok(
          result === 'saved' || result === 'gone',
          `a save racing a delete answered ${String(result)}`,
        )
        assert.equal(
          await store.load(id),
          undefined,
          `the session came back after its delete: a save racing a delete resurrected it (interleaving ${n}; the save must be conditional on existence, atomically)`,
        )
      }
    },
  },
  {
    id: 'save/collision',
    title: 'a new session on a taken id answers collision and changes nothing',
    async run({ store }) {
      const { id, meta } = await create(store, { a: 'original' }, freshMeta({ principal: newPrincipal() }))
      const intruder = freshMeta({ principal: newPrincipal('intruder') }, 999_000)
      assert.equal(
        await store.save({ id, isNew: true, meta: intruder, set: { a: 'x', b: 'y' }, removed: [] }),
        'collision',
        'isNew on a taken id',
      )
      const loaded = await store.load(id)
      assertAttributes(loaded, { a: 'original' }, 'attributes after a collision')
      assertMeta(loaded, meta, 'metadata after a collision')
    },
  },
  {
    id: 'save/concurrent-create',
    title: 'concurrent creations of one id: exactly one saved, the rest collide',
    async run(ctx) {
      const [store, peer] = await racers(ctx)
      await eachTrial(RACE_TRIALS / 4, async (n) => {
        const id = newId()
        const createAs = (s: typeof store, who: number) => () =>
          s.save({ id, isNew: true, meta: freshMeta(), set: { who: String(who) }, removed: [] })
        const results = (
          await Promise.all([
            interleave(n, createAs(store, 0), createAs(peer, 1)),
            interleave(n + 1, createAs(peer, 2), createAs(store, 3)),
          ])
        ).flat()
        assert.equal(
          results.filter((r) => r === 'saved').length,
          1,
          `concurrent creations of one id must have exactly one "saved" (create-if-absent, atomically); results: ${results.join(', ')}`,
        )
        assert.equal(
          results.filter((r) => r === 'collision').length,
          results.length - 1,
          `the losers of concurrent creations must answer collision; results: ${results.join(', ')}`,
        )
        const winner = results.indexOf('saved')
        assertAttributes(await store.load(id), { who: String(winner) }, 'the record is the winner’s')
      })
    },
  },
]
