import { SessionRepository } from '@sessionkit/core'
import { MemoryStore } from '@sessionkit/memory'
import { describe, expect, it } from 'vitest'

// The multi-server, cross-framework and failover scenarios arrive with their issue; until
// then this proves the workspace wiring: two repositories (two "servers") over one store.
describe('integration workspace', () => {
  it('shares a session between two repositories over one store', async () => {
    const store = new MemoryStore()
    const serverA = new SessionRepository({ store })
    const serverB = new SessionRepository({ store })
    const session = serverA.create()
    session.data.user = 'ann'
    await serverA.save(session)
    expect((await serverB.load(session.id))?.data).toEqual({ user: 'ann' })
    await store.close()
  })
})
