import type { SessionChange } from '@sessionkit/core'
import assert from '../assert'
import {
  assertAttributes,
  assertMeta,
  create,
  eachTrial,
  freshMeta,
  interleave,
  newId,
  RACE_TRIALS,
  racers,
} from '../helpers'
import type { ConformanceCase } from '../types'

const rotation = (previousId: string, id: string, set: Record<string, string>): SessionChange => ({
  id,
  previousId,
  isNew: false,
  meta: freshMeta(),
  set,
  removed: [],
})

export const rotateCases: readonly ConformanceCase[] = [
  {
    id: 'rotate/moves-everything',
    title: 'rotation writes the new id with exactly the given attributes and drops the old id',
    async run({ store }) {
      const { id: old } = await create(store, { a: 'A', b: 'B', c: 'C' })
      const next = newId()
      // A rotation's `set` holds every attribute: `c` is absent, so the new record has no `c`.
      const change = rotation(old, next, { a: 'A', b: 'B2' })
      assert.equal(await store.save(change), 'saved')
      const loaded = await store.load(next)
      assertAttributes(loaded, { a: 'A', b: 'B2' }, 'attributes under the new id')
      assertMeta(loaded, change.meta, 'metadata under the new id')
      assert.equal(await store.load(old), undefined, 'the old id still loads')
      assert.equal(await store.touch(old, freshMeta()), false, 'the old id can still be touched')
      assert.equal(await store.save({ ...rotation(old, old, {}), previousId: undefined }), 'gone')
    },
  },
  {
    id: 'rotate/after-delete',
    title: 'rotation of a deleted session answers gone and writes nothing',
    async run({ store }) {
      const { id: old } = await create(store, { a: 'A' })
      await store.delete(old)
      const next = newId()
      assert.equal(
        await store.save(rotation(old, next, { a: 'A' })),
        'gone',
        'a rotation of a deleted session must answer gone (it would bring a logged-out session back under a new id)',
      )
      assert.equal(
        await store.load(next),
        undefined,
        'a rotation of a deleted session wrote its new id anyway',
      )
      assert.equal(
        await store.load(old),
        undefined,
        'a rotation of a deleted session brought the old id back',
      )
    },
  },
  {
    id: 'rotate/concurrent',
    title: 'two concurrent rotations of one id: one winner, the loser gone, no orphan',
    async run(ctx) {
      const [store, peer] = await racers(ctx)
      await eachTrial(RACE_TRIALS / 2, async (n) => {
        const { id: old } = await create(store, { a: 'A' })
        const targets = [newId(), newId()] as const
        const results = await interleave(
          n,
          () => store.save(rotation(old, targets[0], { a: 'A', t: targets[0] })),
          () => peer.save(rotation(old, targets[1], { a: 'A', t: targets[1] })),
        )
        assert.deepEqual(
          [...results].sort(),
          ['gone', 'saved'],
          `two concurrent rotations of one id must have one winner ("saved") and one "gone" (the take of the old id must be atomic; interleaving ${n})`,
        )
        const winner = results[0] === 'saved' ? targets[0] : targets[1]
        const loser = winner === targets[0] ? targets[1] : targets[0]
        assertAttributes(await store.load(winner), { a: 'A', t: winner }, 'the winning rotation’s record')
        assert.equal(
          await store.load(loser),
          undefined,
          'the losing rotation left an orphan under its new id',
        )
        assert.equal(await store.load(old), undefined, 'the rotated id survived both rotations')
      })
    },
  },
  {
    id: 'rotate/onto-taken',
    title: 'a rotation onto a taken id answers collision; both sessions stay as they were',
    async run({ store }) {
      const { id: old } = await create(store, { a: 'mine' })
      const { id: taken } = await create(store, { a: 'theirs' })
      assert.equal(
        await store.save(rotation(old, taken, { a: 'mine', b: 'x' })),
        'collision',
        'a rotation overwrote another session: a rotation onto a taken id must answer collision',
      )
      assertAttributes(
        await store.load(taken),
        { a: 'theirs' },
        'a rotation overwrote another session (rotation onto a taken id)',
      )
      assertAttributes(
        await store.load(old),
        { a: 'mine' },
        'after a rotation collided, the old id must still load',
      )
    },
  },
]
