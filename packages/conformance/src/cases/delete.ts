import assert from '../assert'
import { assertAttributes, create, newId } from '../helpers'
import type { ConformanceCase } from '../types'

export const deleteCases: readonly ConformanceCase[] = [
  {
    id: 'delete/removes',
    title: 'delete removes the record and nothing else',
    async run({ store }) {
      const { id } = await create(store, { a: '1' })
      const { id: other } = await create(store, { b: '2' })
      await store.delete(id)
      assert.equal(await store.load(id), undefined)
      assertAttributes(await store.load(other), { b: '2' }, 'a neighbour of the deleted session')
    },
  },
  {
    id: 'delete/missing',
    title: 'delete of a missing id is a no-op',
    async run({ store }) {
      await store.delete(newId())
      const { id } = await create(store, { a: '1' })
      await store.delete(id)
      await store.delete(id)
      assert.equal(await store.load(id), undefined)
    },
  },
]
