import type { SessionChange } from '@sessionkit/core'
import assert from '../assert'
import { create, eachTrial, freshMeta, interleave, isAbsentRaw, newId, RACE_TRIALS, racers } from '../helpers'
import type { ConformanceCase } from '../types'

const update = (id: string): SessionChange => ({
  id,
  isNew: false,
  meta: freshMeta(),
  set: { b: '2' },
  removed: [],
})
const rotation = (previousId: string, id: string): SessionChange => ({ ...update(id), previousId })

export const rawCases: readonly ConformanceCase[] = [
  {
    id: 'raw/hook-sane',
    title: 'readRaw sees a saved record and nothing for an unknown id',
    requires: ['readRaw'],
    async run({ store, readRaw }) {
      const { id } = await create(store, { a: '1' })
      assert.ok(!isAbsentRaw(await readRaw!(id)), 'readRaw found nothing for a saved record')
      assert.ok(isAbsentRaw(await readRaw!(newId())), 'readRaw found something for an unknown id')
    },
  },
  {
    id: 'raw/no-partial-records',
    title: 'load, touch, a gone save and a save racing a delete leave no bytes behind',
    requires: ['readRaw'],
    async run(ctx) {
      const { store, readRaw } = ctx
      const loaded = newId()
      await store.load(loaded)
      const touched = newId()
      await store.touch(touched, freshMeta())
      const updated = newId()
      await store.save(update(updated))
      for (const [what, id] of [
        ['load', loaded],
        ['touch', touched],
        ['gone save', updated],
      ] as const) {
        assert.ok(isAbsentRaw(await readRaw!(id)), `${what} of a missing id left bytes in the backend`)
      }
      // Spring Session's "creationTime key must not be null": a racing save recreated a partial hash.
      // The save from one instance, the delete from the other, in varied interleavings.
      const [a, b] = await racers(ctx)
      const raced = await eachTrial(RACE_TRIALS / 2, async (n) => {
        const { id } = await create(store, { a: '1' })
        const [saver, deleter] = n % 4 < 2 ? [a, b] : [b, a]
        await interleave(
          n,
          () => saver.save(update(id)),
          () => deleter.delete(id),
        )
        return id
      })
      for (const id of raced)
        assert.ok(isAbsentRaw(await readRaw!(id)), 'a save racing a delete left a partial record')
    },
  },
  {
    id: 'raw/no-orphans',
    title: 'delete and rotations leave nothing under dropped or losing ids',
    requires: ['readRaw'],
    async run(ctx) {
      const { store, readRaw } = ctx
      const { id: deleted } = await create(store, { a: '1' })
      await store.delete(deleted)
      assert.ok(isAbsentRaw(await readRaw!(deleted)), 'delete left bytes behind')

      // Two rotations of one id from two instances, in varied interleavings.
      const [a, b] = await racers(ctx)
      await eachTrial(RACE_TRIALS / 4, async (n) => {
        const { id: old } = await create(store, { a: '1' })
        const [first, second] = [newId(), newId()]
        const results = await interleave(
          n,
          () => a.save(rotation(old, first)),
          () => b.save(rotation(old, second)),
        )
        assert.ok(isAbsentRaw(await readRaw!(old)), 'the rotated id left bytes behind')
        const loser = results[0] === 'saved' ? second : first
        assert.ok(
          isAbsentRaw(await readRaw!(loser)),
          `the losing rotation left an orphan record (interleaving ${n})`,
        )
      })

      const target = newId()
      assert.equal(await store.save(rotation(deleted, target)), 'gone')
      assert.ok(isAbsentRaw(await readRaw!(target)), 'a gone rotation wrote its target')
    },
  },
]
