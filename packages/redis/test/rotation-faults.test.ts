import { isSessionError, type SessionChange } from '@sessionkit/core'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import { Redis, type RedisOptions } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisStore } from '../src/index'
import { meta, newId, quiet } from './support'

// Issue 18, item 4: a rotation whose answer is lost must still answer the truth. The server is
// paused (SIGSTOP) or killed (SIGKILL, then restarted from its append-only file, so what it
// acknowledged survives) at each step of a rotation; once the store's background work has
// settled, either the answer was `saved` and only the new id loads, or the rotation failed and
// only the old id loads.

const BOUND_MS = 400
const TRIALS = 8

let server: RedisServer
const clients: Redis[] = []
beforeAll(async () => {
  server = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
})
afterAll(async () => {
  for (const c of clients) c.disconnect()
  await server?.stop()
})

async function connect(options: RedisOptions = {}): Promise<Redis> {
  const client = quiet(new Redis(server.url, options))
  clients.push(client)
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve))
  return client
}

type Step = 'before create' | 'before take' | 'during take'
type Fault = 'pause' | 'kill'
const STEPS: Step[] = ['before create', 'before take', 'during take']

const injure = (fault: Fault) => (fault === 'pause' ? server.pause() : server.kill())
const heal = (fault: Fault) => (fault === 'pause' ? server.resume() : server.restart())

/** Makes the next call of one of the store's scripts fault the server before or after it is sent. */
function faultAt(client: Redis, step: Step, fault: Fault, newKey: string): Promise<void> {
  const target = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
  const name = step === 'before create' ? 'sessionkitSave' : 'sessionkitTake'
  const original = target[name]!
  let injured!: () => void
  const done = new Promise<void>((resolve) => {
    injured = resolve
  })
  target[name] = async function faulted(this: unknown, ...args: unknown[]) {
    if (name === 'sessionkitSave' && args[0] !== newKey) return original.apply(this, args)
    target[name] = original
    if (step === 'during take') {
      const sent = original.apply(this, args)
      void injure(fault).then(injured)
      return sent
    }
    await injure(fault)
    injured()
    return original.apply(this, args)
  }
  return done
}

function rotation(old: string, next: string, principal: string): SessionChange {
  return {
    id: next,
    previousId: old,
    isNew: false,
    meta: { ...meta(600_000, principal) },
    set: { user: '"alice"' },
    removed: [],
  }
}

async function outcome(promise: Promise<unknown>) {
  try {
    return await promise
  } catch (err) {
    expect(isSessionError(err, 'STORE_UNAVAILABLE'), String(err)).toBe(true)
    return 'unavailable'
  }
}

describe.each([
  ['recommended options', { maxRetriesPerRequest: 1, enableOfflineQueue: false }],
  ['ioredis defaults', {}],
])('a rotation interrupted at each step (%s)', (_label, options) => {
  for (const fault of ['pause', 'kill'] as const) {
    it(`server ${fault === 'pause' ? 'paused' : 'killed'}: exactly one of the two ids loads, the one the answer names`, async () => {
      const client = await connect(options)
      const checker = await connect()
      const tally: Record<string, number> = {}
      for (const step of STEPS) {
        for (let trial = 0; trial < TRIALS; trial++) {
          const prefix = `rf-${newId().slice(0, 8)}:`
          const store = new RedisStore({ client, prefix, commandTimeoutMs: BOUND_MS })
          const view = new RedisStore({ client: checker, prefix })
          const principal = `p-${newId().slice(0, 8)}`
          const old = newId()
          const next = newId()
          expect(
            await store.save({
              id: old,
              isNew: true,
              meta: meta(600_000, principal),
              set: { user: '"anon"' },
              removed: [],
            }),
          ).toBe('saved')
          const injured = faultAt(client, step, fault, store.key(next))
          const answer = await outcome(store.save(rotation(old, next, principal)))
          await injured
          await heal(fault)
          await store.settled()

          const [oldRecord, newRecord] = [await view.load(old), await view.load(next)]
          const where = `${step}, trial ${trial}: answered ${String(answer)}`
          if (answer === 'saved') {
            expect(newRecord?.attributes, where).toEqual({ user: '"alice"' })
            expect(oldRecord, `${where}, yet the old id still loads`).toBeUndefined()
          } else {
            expect(answer, where).toBe('unavailable')
            expect(oldRecord?.attributes, `${where}, yet the old id is gone`).toEqual({ user: '"anon"' })
            expect(newRecord, `${where}, yet the new id loads`).toBeUndefined()
          }
          tally[`${step}: ${String(answer)}`] = (tally[`${step}: ${String(answer)}`] ?? 0) + 1
        }
      }
      console.info(`[${_label}, ${fault}]`, tally)
    }, 120_000)
  }
})

describe('an unresolved take racing another request', () => {
  it('a second rotation of the same id: exactly one of the two new ids loads', async () => {
    const client = await connect({ maxRetriesPerRequest: 1, enableOfflineQueue: false })
    const other = await connect()
    const checker = await connect()
    let winsFirst = 0
    for (let trial = 0; trial < TRIALS * 2; trial++) {
      const prefix = `rr-${newId().slice(0, 8)}:`
      const store = new RedisStore({ client, prefix, commandTimeoutMs: BOUND_MS })
      const rival = new RedisStore({ client: other, prefix, commandTimeoutMs: 5_000 })
      const view = new RedisStore({ client: checker, prefix })
      const old = newId()
      const [first, second] = [newId(), newId()]
      expect(
        await store.save({ id: old, isNew: true, meta: meta(), set: { user: '"anon"' }, removed: [] }),
      ).toBe('saved')
      const injured = faultAt(client, 'before take', 'kill', store.key(first))
      // The take never reaches the server: the answer comes from the deadline.
      expect(await store.save(rotation(old, first, 'p'))).toBe('saved')
      await injured
      await server.restart()
      // The rival's take races the first rotation's resolution.
      const rivalAnswer = await rival.save(rotation(old, second, 'p'))
      await Promise.all([store.settled(), rival.settled()])

      const loads = [await view.load(first), await view.load(second)].map((r) => r !== undefined)
      expect(await view.load(old), `trial ${trial}: the old id still loads`).toBeUndefined()
      expect(loads.filter(Boolean).length, `trial ${trial}: ${loads}, rival answered ${rivalAnswer}`).toBe(1)
      expect(loads[1], `trial ${trial}: the rival answered ${rivalAnswer}`).toBe(rivalAnswer === 'saved')
      if (loads[0]) winsFirst++
    }
    console.info(`first rotation (resolved in the background) won ${winsFirst} of ${TRIALS * 2}`)
  }, 120_000)

  it('a logout of the old id: the old id never loads again and at most one record remains', async () => {
    const client = await connect({ maxRetriesPerRequest: 1, enableOfflineQueue: false })
    const other = await connect()
    const checker = await connect()
    for (let trial = 0; trial < TRIALS; trial++) {
      const prefix = `rl-${newId().slice(0, 8)}:`
      const store = new RedisStore({ client, prefix, commandTimeoutMs: BOUND_MS })
      const logout = new RedisStore({ client: other, prefix, commandTimeoutMs: 5_000 })
      const view = new RedisStore({ client: checker, prefix })
      const old = newId()
      const next = newId()
      expect(
        await store.save({ id: old, isNew: true, meta: meta(), set: { user: '"anon"' }, removed: [] }),
      ).toBe('saved')
      const injured = faultAt(client, 'before take', 'kill', store.key(next))
      expect(await store.save(rotation(old, next, 'p'))).toBe('saved')
      await injured
      await server.restart()
      await logout.delete(old)
      await store.settled()
      expect(await view.load(old), `trial ${trial}`).toBeUndefined()
      expect(await checker.exists(store.key(old)), `trial ${trial}`).toBe(0)
    }
  }, 120_000)
})
