import { isSessionError, type SessionError, SessionRepository } from '@sessionkit/core'
import assert from '../assert'
import { create, newId, settleWithin } from '../helpers'
import type { ConformanceCase } from '../types'

/** A repository over the store, collecting its error events. */
function repositoryOver(store: ConstructorParameters<typeof SessionRepository>[0]['store']) {
  const repository = new SessionRepository({ store })
  const errors: SessionError[] = []
  repository.on('error', (err) => errors.push(err))
  return { repository, errors }
}

// DESIGN semantic 7: bad bytes never crash a request; the session reads as absent and the
// failure is reported, never thrown at the user as a 500.
export const corruptCases: readonly ConformanceCase[] = [
  {
    id: 'corrupt/attribute',
    title: 'an attribute that does not decode makes the session absent, reported as CORRUPT_RECORD',
    async run({ store }) {
      const { id } = await create(store, { good: '"ok"', bad: '{"truncated' })
      const { repository, errors } = repositoryOver(store)
      assert.equal(await repository.load(id), undefined, 'a session with undecodable bytes was handed out')
      assert.deepEqual(
        errors.map((e) => e.code),
        ['CORRUPT_RECORD'],
      )
    },
  },
  {
    id: 'corrupt/backend',
    title: 'a record the store cannot read loads as absent within the bound, and can be deleted',
    requires: ['corrupt'],
    async run({ store, corrupt, unavailableWithinMs }) {
      const id = newId()
      await corrupt!(id)
      const raw = await settleWithin(store.load(id), unavailableWithinMs, 'load of a corrupt record')
      if (!raw.ok) {
        assert.ok(
          isSessionError(raw.error, 'CORRUPT_RECORD'),
          `load of a corrupt record may only reject with CORRUPT_RECORD, got ${String(raw.error)}`,
        )
      }
      const { repository, errors } = repositoryOver(store)
      assert.equal(await repository.load(id), undefined, 'a corrupt record was handed out as a session')
      assert.ok(
        raw.ok && raw.value === undefined
          ? errors.length === 0
          : errors.every((e) => e.code === 'CORRUPT_RECORD'),
        'only CORRUPT_RECORD is reported for a corrupt record',
      )
      await settleWithin(store.delete(id), unavailableWithinMs, 'delete of a corrupt record')
      assert.equal(await store.load(id), undefined, 'the corrupt record outlived its delete')
    },
  },
]
