import assert from 'node:assert/strict'
import {
  assertAttributes,
  assertMeta,
  create,
  createAndTouchInTime,
  freshMeta,
  newId,
  waitUntilPast,
} from '../helpers'
import type { ConformanceCase } from '../types'

export const touchCases: readonly ConformanceCase[] = [
  {
    id: 'touch/keeps-attributes',
    title: 'touch writes the metadata and leaves attributes untouched',
    async run({ store }) {
      const attributes = { a: '1', emoji: '😀', empty: '' }
      const { id, meta } = await create(store, attributes)
      const later = freshMeta(
        { createdAt: meta.createdAt, lastAccessedAt: meta.lastAccessedAt + 5_000 },
        meta.maxInactiveMs * 2,
      )
      assert.equal(await store.touch(id, later), true)
      const loaded = await store.load(id)
      assertAttributes(loaded, attributes, 'attributes after touch')
      assertMeta(loaded, later, 'metadata after touch')
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
      assert.equal(await store.touch(id, freshMeta()), false)
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
