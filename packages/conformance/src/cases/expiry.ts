import assert from '../assert'
import {
  assertAttributes,
  assertMeta,
  create,
  freshMeta,
  newId,
  newPrincipal,
  waitUntilPast,
} from '../helpers'
import type { ConformanceCase } from '../types'

export const expiryCases: readonly ConformanceCase[] = [
  {
    id: 'expiry/exact',
    title: 'a record is loadable before expiresAt and never at or after it',
    timing: true,
    async run({ store }) {
      const meta = freshMeta({}, 150)
      const { id } = await create(store, { a: '1' }, meta)
      const before = await store.load(id)
      // Only conclusive when the whole round trip finished before the instant.
      if (Date.now() < meta.expiresAt) assertAttributes(before, { a: '1' }, 'loaded before expiresAt')
      await waitUntilPast(meta.expiresAt)
      assert.equal(
        await store.load(id),
        undefined,
        'returned after expiresAt (lazy backend TTL is no excuse)',
      )
      assert.equal(await store.load(id), undefined, 'returned after expiresAt on a second read')
    },
  },
  {
    id: 'expiry/boundary',
    title: 'a record is not returned at exactly expiresAt',
    timing: true,
    async run({ store }) {
      // Loads started at or after the instant must all miss. Polled around the instant, so some
      // load starts in its very millisecond; more records (up to 20) give that several chances
      // on a loaded machine, where a round trip can skip the instant.
      let atInstant = 0
      for (let attempt = 0; attempt < 20 && atInstant < 3; attempt++) {
        const meta = freshMeta({}, 60)
        const { id } = await create(store, { a: '1' }, meta)
        while (Date.now() < meta.expiresAt - 2) await new Promise((resolve) => setTimeout(resolve, 1))
        while (Date.now() <= meta.expiresAt + 1) {
          const started = Date.now()
          const record = await store.load(id)
          if (started === meta.expiresAt) atInstant++
          if (started >= meta.expiresAt) {
            assert.equal(
              record,
              undefined,
              `returned at or after expiresAt (${started - meta.expiresAt} ms past): expiry must be exclusive`,
            )
          }
        }
      }
    },
  },
  {
    id: 'expiry/stays-dead',
    title: 'an expired session cannot be saved or rotated back to life',
    timing: true,
    async run({ store }) {
      const meta = freshMeta({}, 150)
      const { id } = await create(store, { a: '1' }, meta)
      await waitUntilPast(meta.expiresAt)
      assert.equal(
        await store.save({ id, isNew: false, meta: freshMeta(), set: { b: '2' }, removed: [] }),
        'gone',
        'a save of an expired session must answer gone (no resurrection after expiry)',
      )
      assert.equal(await store.load(id), undefined, 'a save of an expired session revived it')
      const next = newId()
      assert.equal(
        await store.save({
          id: next,
          previousId: id,
          isNew: false,
          meta: freshMeta(),
          set: { a: '1' },
          removed: [],
        }),
        'gone',
        'a rotation of an expired session must answer gone (no resurrection under a new id)',
      )
      assert.equal(await store.load(next), undefined, 'rotating an expired session created its new id')
    },
  },
  {
    id: 'expiry/id-reusable',
    title: 'an expired id is free: creating it again starts clean',
    timing: true,
    async run({ store }) {
      const meta = freshMeta({ principal: newPrincipal() }, 150)
      const { id } = await create(store, { stale: 'old' }, meta)
      await waitUntilPast(meta.expiresAt)
      const fresh = freshMeta()
      assert.equal(
        await store.save({ id, isNew: true, meta: fresh, set: { fresh: 'new' }, removed: [] }),
        'saved',
      )
      const loaded = await store.load(id)
      assertAttributes(loaded, { fresh: 'new' }, 'nothing of the expired record may leak into the new one')
      assertMeta(loaded, fresh, 'metadata of the recreated session')
    },
  },
]
