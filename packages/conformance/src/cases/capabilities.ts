import assert from '../assert'
import { assertAttributes, create, freshMeta, newPrincipal } from '../helpers'
import type { ConformanceCase } from '../types'

export const capabilityCases: readonly ConformanceCase[] = [
  {
    id: 'capabilities/truthful',
    title: 'the capabilities manifest tells the truth',
    async run({ store, capabilities, openPeer }) {
      const declared = store.capabilities
      assert.equal(
        typeof declared?.principalIndex,
        'boolean',
        'capabilities.principalIndex must be a boolean',
      )
      assert.equal(typeof declared.shared, 'boolean', 'capabilities.shared must be a boolean')
      assert.deepEqual(
        { principalIndex: declared.principalIndex, shared: declared.shared },
        { principalIndex: capabilities.principalIndex, shared: capabilities.shared },
        'every store createStore returns must declare the same capabilities',
      )
      if (declared.principalIndex) {
        assert.equal(
          typeof store.findByPrincipal,
          'function',
          'principalIndex is true: findByPrincipal is required',
        )
        const principal = newPrincipal()
        const { id } = await create(store, { a: '1' }, freshMeta({ principal }))
        const found = await store.findByPrincipal!(principal)
        assert.deepEqual(
          found.map((r) => r.id),
          [id],
          'findByPrincipal must find the session just saved',
        )
      } else {
        // Core decides by the method's presence whether it can list sessions: a stub would lie.
        assert.equal(
          store.findByPrincipal,
          undefined,
          'principalIndex is false: findByPrincipal must be absent',
        )
      }
      if (declared.shared) {
        const { id } = await create(store, { a: 'visible elsewhere' })
        const peer = await openPeer()
        assertAttributes(
          await peer.load(id),
          { a: 'visible elsewhere' },
          'shared is true: another instance sees it',
        )
      }
    },
  },
]
