import assert from '../assert'
import { assertAttributes, assertMeta, create, freshMeta, newId } from '../helpers'
import type { ConformanceCase } from '../types'

export const loadCases: readonly ConformanceCase[] = [
  {
    id: 'load/missing',
    title: 'load of an unknown id answers undefined',
    async run({ store }) {
      assert.equal(await store.load(newId()), undefined)
      assert.equal(await store.load('not-even-an-id'), undefined)
    },
  },
  {
    id: 'load/never-creates',
    title: 'load never creates a record',
    async run({ store }) {
      const id = newId()
      assert.equal(await store.load(id), undefined)
      assert.equal(await store.load(id), undefined)
      const meta = freshMeta()
      // A record created by load would make this update succeed.
      assert.equal(await store.save({ id, isNew: false, meta, set: { a: '1' }, removed: [] }), 'gone')
      assert.equal(await store.save({ id, isNew: true, meta, set: { a: '1' }, removed: [] }), 'saved')
    },
  },
  {
    id: 'load/returns-copy',
    title: 'mutating a loaded record changes nothing stored',
    async run({ store }) {
      const { id, meta } = await create(store, { a: '1' })
      const loaded = await store.load(id)
      assert.ok(loaded)
      loaded.attributes.a = 'mutated'
      loaded.attributes.b = 'added'
      loaded.expiresAt = 0
      loaded.principal = 'intruder'
      const again = await store.load(id)
      assertAttributes(again, { a: '1' }, 'attributes after mutating a loaded copy')
      assertMeta(again, meta, 'metadata after mutating a loaded copy')
    },
  },
]
