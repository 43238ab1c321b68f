import { isSessionError, type SessionStore } from '@sessionkit/core'
import assert from '../assert'
import { create, freshMeta, newId, newPrincipal, settleWithin } from '../helpers'
import type { ConformanceCase } from '../types'

type Operation = readonly [string, (store: SessionStore) => Promise<unknown>]

export const unavailableCases: readonly ConformanceCase[] = [
  {
    id: 'unavailable/rejects',
    title: 'every operation on an unreachable store rejects with STORE_UNAVAILABLE, never hangs',
    requires: ['makeUnavailable'],
    async run({ store, makeUnavailable, unavailableWithinMs }) {
      const principal = newPrincipal()
      const { id } = await create(store, { a: '1' }, freshMeta({ principal }))
      await makeUnavailable!()
      const operations: Operation[] = [
        ['load', (s) => s.load(id)],
        ['load (unknown id)', (s) => s.load(newId())],
        [
          'save (new)',
          (s) => s.save({ id: newId(), isNew: true, meta: freshMeta(), set: { a: '1' }, removed: [] }),
        ],
        [
          'save (update)',
          (s) => s.save({ id, isNew: false, meta: freshMeta(), set: { b: '2' }, removed: [] }),
        ],
        [
          'save (rotation)',
          (s) =>
            s.save({ id: newId(), previousId: id, isNew: false, meta: freshMeta(), set: {}, removed: [] }),
        ],
        ['touch', (s) => s.touch(id, freshMeta())],
        ['delete', (s) => s.delete(id)],
      ]
      if (store.findByPrincipal) operations.push(['findByPrincipal', (s) => s.findByPrincipal!(principal)])

      const outcomes = await Promise.all(
        operations.map(async ([name, op]) => {
          // A synchronous throw counts as a rejection: callers await it either way.
          const settled = await settleWithin(
            Promise.resolve().then(() => op(store)),
            unavailableWithinMs,
            name,
          )
          return { name, settled }
        }),
      )
      for (const { name, settled } of outcomes) {
        assert.ok(!settled.ok, `${name} resolved on an unreachable store`)
        assert.ok(
          isSessionError(settled.error, 'STORE_UNAVAILABLE'),
          `${name} rejected with ${String(settled.error)}, not a SessionError with code STORE_UNAVAILABLE`,
        )
      }
    },
  },
]
