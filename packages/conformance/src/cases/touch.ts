import assert from '../assert'
import {
  assertAttributes,
  assertMeta,
  create,
  createAndTouchInTime,
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

export const touchCases: readonly ConformanceCase[] = [
  {
    id: 'touch/keeps-attributes',
    title: 'touch moves access time and expiry forward and writes nothing else',
    async run({ store }) {
      const attributes = { a: '1', emoji: '😀', empty: '' }
      const owner = newPrincipal()
      const { id, meta } = await create(store, attributes, freshMeta({ principal: owner }))
      const later = {
        lastAccessedAt: meta.lastAccessedAt + 5_000,
        expiresAt: meta.expiresAt + 5_000,
      }
      // Extra fields, as a careless caller might pass a whole record's metadata: never written.
      const careless = { ...later, maxInactiveMs: 1, principal: newPrincipal('intruder') }
      assert.equal(await store.touch(id, careless), true)
      const loaded = await store.load(id)
      assertAttributes(loaded, attributes, 'attributes after touch')
      assertMeta(loaded, { ...meta, ...later }, 'a touch wrote more than access time and expiry')
    },
  },
  {
    id: 'touch/stale',
    title: 'a stale touch never shortens an expiry or moves access time back',
    async run({ store }) {
      const { id, meta } = await create(store, { a: '1' })
      const fresh = { lastAccessedAt: meta.lastAccessedAt + 10_000, expiresAt: meta.expiresAt + 10_000 }
      assert.equal(await store.touch(id, fresh), true)
      assert.equal(
        await store.touch(id, { lastAccessedAt: meta.lastAccessedAt + 1, expiresAt: meta.expiresAt + 1 }),
        true,
      )
      assertMeta(await store.load(id), { ...meta, ...fresh }, 'a stale touch moved the expiry back')
    },
  },
  {
    id: 'touch/race-delete',
    title: 'a touch racing a delete never brings the session back',
    async run(ctx) {
      const [store, peer] = await racers(ctx)
      const trials = await eachTrial(RACE_TRIALS, async (n) => {
        const { id, meta } = await create(store, { a: '1' })
        const [toucher, deleter] = n % 4 < 2 ? [store, peer] : [peer, store]
        await interleave(
          n,
          () => toucher.touch(id, { lastAccessedAt: Date.now(), expiresAt: meta.expiresAt + 1_000 }),
          () => deleter.delete(id),
        )
        return { id, n }
      })
      for (const { id, n } of trials) {
        assert.equal(
          await store.load(id),
          undefined,
          `a touch racing a delete brought the session back (touch is no atomic conditional write; interleaving ${n})`,
        )
      }
    },
  },
  {
    id: 'touch/race-save',
    title: 'a touch racing a save never loses the saved attribute',
    async run(ctx) {
      const [store, peer] = await racers(ctx)
      await eachTrial(RACE_TRIALS, async (n) => {
        const { id, meta } = await create(store, { a: '1' })
        const [toucher, saver] = n % 4 < 2 ? [store, peer] : [peer, store]
        const [touched, saved] = await interleave(
          n,
          () => toucher.touch(id, { lastAccessedAt: Date.now(), expiresAt: meta.expiresAt + 1_000 }),
          () =>
            saver.save({
              id,
              isNew: false,
              meta: { ...freshMeta(), createdAt: meta.createdAt, maxInactiveMs: undefined },
              set: { b: String(n) },
              removed: [],
            }),
        )
        assert.deepEqual(
          [touched, saved],
          [true, 'saved'],
          'a touch and a save of a live session must both succeed',
        )
        assertAttributes(
          await store.load(id),
          { a: '1', b: String(n) },
          `a touch racing a save lost the saved attribute (touch rewrote the record it read; interleaving ${n})`,
        )
      })
    },
  },
  {
    id: 'touch/extends-expiry',
    title: 'a touched session outlives its former expiresAt',
    timing: true,
    async run({ store }) {
      const { id, meta } = await createAndTouchInTime(store, { a: '1' })
      await waitUntilPast(meta.expiresAt)
      assertAttributes(await store.load(id), { a: '1' }, 'the touched session expired at its old instant')
    },
  },
  {
    id: 'touch/missing',
    title: 'touch of an unknown or deleted id answers false and creates nothing',
    async run({ store }) {
      const id = newId()
      assert.equal(
        await store.touch(id, freshMeta()),
        false,
        'touch created a record: touch of an unknown id must answer false',
      )
      assert.equal(await store.load(id), undefined, 'touch created a record')
      assert.equal(await store.save({ id, isNew: false, meta: freshMeta(), set: {}, removed: [] }), 'gone')

      const { id: deleted } = await create(store, { a: '1' })
      await store.delete(deleted)
      assert.equal(await store.touch(deleted, freshMeta()), false)
      assert.equal(await store.load(deleted), undefined, 'touch revived a deleted session')
    },
  },
  {
    id: 'touch/after-expiry',
    title: 'touch of an expired session answers false and does not revive it',
    timing: true,
    async run({ store }) {
      const meta = freshMeta({}, 150)
      const { id } = await create(store, { a: '1' }, meta)
      await waitUntilPast(meta.expiresAt)
      assert.equal(await store.touch(id, freshMeta()), false)
      assert.equal(await store.load(id), undefined, 'touch revived an expired session')
    },
  },
]
