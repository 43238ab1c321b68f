import { SessionRepository, type SessionStore } from '@sessionkit/core'
import assert from '../assert'
import { newPrincipal } from '../helpers'
import type { CaseContext, ConformanceCase } from '../types'

const TRIALS_PER_ORDER = 12
const FREE_TRIALS = 60

type Order = 'rotation-between-lookup-and-delete' | 'revocation-during-rotation' | 'free'

/**
 * "Log out everywhere" racing a login on another device: device A's session rotates (changeId
 * at login) through one store instance while an admin revokes the principal through another.
 * Whatever the interleaving, once `destroyAllFor` resolves no session the principal had when it
 * was called loads, under its old id or the id the rotation gave it.
 */
async function trial(ctx: CaseContext, peer: SessionStore, order: Order, n: number): Promise<void> {
  const principal = newPrincipal('revoked')
  const devices = new SessionRepository({ store: ctx.store })
  const a = devices.create()
  a.data.device = 'a'
  a.setPrincipal(principal)
  const b = devices.create()
  b.data.device = 'b'
  b.setPrincipal(principal)
  await devices.save(a)
  await devices.save(b)
  const oldId = a.id

  // The admin's store: hooks let a case force the rotation into a chosen gap of the revocation.
  let afterLookup: (() => Promise<void>) | undefined
  const adminStore: SessionStore = {
    capabilities: peer.capabilities,
    load: (id) => peer.load(id),
    save: (change) => peer.save(change),
    touch: (id, meta) => peer.touch(id, meta),
    delete: (id) => peer.delete(id),
    findByPrincipal: async (p) => {
      const found = await peer.findByPrincipal!(p)
      const hook = afterLookup
      afterLookup = undefined
      if (hook) await hook()
      return found
    },
  }
  const admin = new SessionRepository({ store: adminStore })

  let beforeRotationSave: (() => Promise<void>) | undefined
  const loginStore: SessionStore = {
    capabilities: ctx.store.capabilities,
    load: (id) => ctx.store.load(id),
    save: async (change) => {
      const hook = beforeRotationSave
      beforeRotationSave = undefined
      if (hook && change.previousId !== undefined) await hook()
      return ctx.store.save(change)
    },
    touch: (id, meta) => ctx.store.touch(id, meta),
    delete: (id) => ctx.store.delete(id),
    findByPrincipal: (p) => ctx.store.findByPrincipal!(p),
  }
  const login = new SessionRepository({ store: loginStore })
  const loaded = await login.load(oldId)
  assert.ok(loaded, 'the session to rotate did not load')
  loaded.changeId()
  const rotate = () => login.save(loaded)
  const newId = loaded.id

  let rotation: Promise<unknown> | undefined
  let revocation: Promise<number>
  if (order === 'rotation-between-lookup-and-delete') {
    afterLookup = async () => {
      rotation = rotate()
      await rotation
    }
    revocation = admin.destroyAllFor(principal)
  } else if (order === 'revocation-during-rotation') {
    beforeRotationSave = async () => {
      revocation = admin.destroyAllFor(principal)
      await revocation
    }
    rotation = rotate()
    await rotation
    revocation = revocation!
  } else {
    // Unforced: start one, let a varying number of turns of the event loop pass, start the other.
    const first = n % 2 === 0 ? 'rotate' : 'revoke'
    const turns = Math.floor(n / 2) % 8
    const start = (which: string) => {
      if (which === 'rotate') rotation = rotate()
      else revocation = admin.destroyAllFor(principal)
    }
    start(first)
    for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve))
    start(first === 'rotate' ? 'revoke' : 'rotate')
  }
  await revocation!
  await Promise.allSettled([rotation])

  const survivors: string[] = []
  for (const [label, id] of [
    ['the rotated session under its new id', newId],
    ['the rotated session under its old id', oldId],
    ['the other device', b.id],
  ] as const) {
    if ((await ctx.store.load(id)) !== undefined) survivors.push(label)
  }
  assert.deepEqual(
    survivors,
    [],
    `"log out everywhere" resolved while a session of the principal still loads (order ${order}, trial ${n})`,
  )
}

export const revocationCases: readonly ConformanceCase[] = [
  {
    id: 'repository/revoke-racing-rotation',
    title:
      'destroyAllFor racing a rotation of one of the sessions (another store instance): nothing of the principal loads after it resolves',
    requires: ['principalIndex'],
    async run(ctx) {
      // A shared store's second instance has its own connection: the two sides interleave as
      // two app servers do. A process-local store has one instance to race against itself.
      const peer = ctx.capabilities.shared ? await ctx.openPeer() : ctx.store
      const orders: Order[] = ['rotation-between-lookup-and-delete', 'revocation-during-rotation']
      for (const order of orders) {
        for (let n = 0; n < TRIALS_PER_ORDER; n++) await trial(ctx, peer, order, n)
      }
      for (let n = 0; n < FREE_TRIALS; n++) await trial(ctx, peer, 'free', n)
    },
  },
]
