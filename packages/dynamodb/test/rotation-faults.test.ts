import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb'
import { isSessionError, type SessionChange } from '@sessionkit/core'
import { type DynamoDBLocal, startDynamoDB } from '@sessionkit/test-servers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DynamoDBStore } from '../src/index'
import { meta, newId, storeOn } from './support'

// Issue 18, item 4: a rotation whose answer is lost must still answer the truth. DynamoDB
// Local is paused (SIGSTOP) or killed (SIGKILL, restarted from disk) just before or while the
// rotation's transaction is sent; once the store's background replay has settled, either the
// answer was `saved` and only the new id loads, or it was STORE_UNAVAILABLE and only the old id
// loads.

const BOUND_MS = 1000

let server: DynamoDBLocal
let view: DynamoDBStore
const clients: DynamoDBClient[] = []
const client = (options: Partial<DynamoDBClientConfig> = {}) => {
  const c = new DynamoDBClient({ ...server.clientConfig, ...options })
  clients.push(c)
  return c
}

beforeAll(async () => {
  server = await startDynamoDB({ persistent: true })
  view = storeOn(client())
  await view.ensureTable()
})
afterAll(async () => {
  for (const c of clients) c.destroy()
  await server?.stop()
})

type Step = 'before sending' | 'while sending'
type Fault = 'pause' | 'kill'

/** Faults the server once, as the next TransactWriteItems goes out (or just before). */
function faultAt(target: DynamoDBClient, step: Step, fault: Fault): Promise<void> {
  let armed = true
  let injured!: () => void
  const done = new Promise<void>((resolve) => {
    injured = resolve
  })
  const injure = () => (fault === 'pause' ? server.pause() : server.kill())
  const name = `fault-${newId().slice(0, 8)}`
  target.middlewareStack.add(
    (next, context) => async (args) => {
      if (!armed || context.commandName !== 'TransactWriteItemsCommand') return next(args)
      armed = false
      target.middlewareStack.remove(name)
      if (step === 'before sending') {
        await injure()
        injured()
        return next(args)
      }
      const sent = next(args)
      void injure().then(injured)
      return sent
    },
    { step: 'finalizeRequest', name },
  )
  return done
}

const heal = (fault: Fault) => (fault === 'pause' ? Promise.resolve(server.resume()) : server.restart())

function rotation(old: string, next: string): SessionChange {
  return { id: next, previousId: old, isNew: false, meta: meta(), set: { user: '"alice"' }, removed: [] }
}

async function outcome(promise: Promise<unknown>) {
  try {
    return await promise
  } catch (err) {
    expect(isSessionError(err, 'STORE_UNAVAILABLE'), String(err)).toBe(true)
    return 'unavailable'
  }
}

/** A load through the checking store once the server answers again. */
async function loads(id: string) {
  for (;;) {
    try {
      return await view.load(id)
    } catch (err) {
      if (!isSessionError(err, 'STORE_UNAVAILABLE')) throw err
    }
  }
}

describe.each([
  ['SDK defaults', {}],
  ['one attempt', { maxAttempts: 1 }],
])('a rotation interrupted (%s)', (label, options) => {
  for (const [fault, trials] of [
    ['pause', 6],
    ['kill', 2],
  ] as const) {
    it(`server ${fault === 'pause' ? 'paused' : 'killed'}: exactly one of the two ids loads, the one the answer names`, async () => {
      const c = client(options)
      const store = storeOn(c, { operationTimeoutMs: BOUND_MS })
      const tally: Record<string, number> = {}
      for (const step of ['before sending', 'while sending'] as const) {
        for (let trial = 0; trial < trials; trial++) {
          const old = newId()
          const next = newId()
          expect(
            await store.save({ id: old, isNew: true, meta: meta(), set: { user: '"anon"' }, removed: [] }),
          ).toBe('saved')
          const injured = faultAt(c, step, fault)
          const answer = await outcome(store.save(rotation(old, next)))
          await injured
          await heal(fault)
          await store.settled()

          const [oldRecord, newRecord] = [await loads(old), await loads(next)]
          const where = `${step}, trial ${trial}: answered ${String(answer)}`
          if (answer === 'saved') {
            expect(newRecord?.attributes, `${where}, yet the new id does not load`).toEqual({
              user: '"alice"',
            })
            expect(oldRecord, `${where}, yet the old id still loads`).toBeUndefined()
          } else {
            expect(answer, where).toBe('unavailable')
            expect(oldRecord?.attributes, `${where}, yet the old id is gone`).toEqual({ user: '"anon"' })
            expect(newRecord, `${where}, yet the new id loads`).toBeUndefined()
          }
          tally[`${step}: ${String(answer)}`] = (tally[`${step}: ${String(answer)}`] ?? 0) + 1
        }
      }
      console.info(`[${label}, ${fault}]`, tally)
    }, 180_000)
  }
})

it('a transaction lost with the server (paused, then killed) races a second rotation: one winner', async () => {
  const c = client()
  const store = storeOn(c, { operationTimeoutMs: BOUND_MS })
  const rival = storeOn(client(), { operationTimeoutMs: 10_000 })
  for (let trial = 0; trial < 3; trial++) {
    const old = newId()
    const [first, second] = [newId(), newId()]
    expect(
      await store.save({ id: old, isNew: true, meta: meta(), set: { user: '"anon"' }, removed: [] }),
    ).toBe('saved')
    const injured = faultAt(c, 'before sending', 'pause')
    // Sent into a paused server: no answer, so the store answers `saved` and replays later.
    expect(await store.save(rotation(old, first))).toBe('saved')
    await injured
    await server.kill()
    await server.restart()
    const rivalAnswer = await rival.save(rotation(old, second))
    await store.settled()
    const [a, b] = [await loads(first), await loads(second)].map((r) => r !== undefined)
    expect(await loads(old), `trial ${trial}`).toBeUndefined()
    expect([a, b].filter(Boolean).length, `trial ${trial}: ${a},${b}, rival ${rivalAnswer}`).toBe(1)
    expect(b, `trial ${trial}: the rival answered ${rivalAnswer}`).toBe(rivalAnswer === 'saved')
  }
}, 180_000)

it('the answer is lost after DynamoDB committed: the copy sent again tells, and the answer is saved', async () => {
  const c = client()
  const store = storeOn(c, { operationTimeoutMs: BOUND_MS })
  for (const losses of [1, 2]) {
    const old = newId()
    const next = newId()
    expect(
      await store.save({ id: old, isNew: true, meta: meta(), set: { user: '"anon"' }, removed: [] }),
    ).toBe('saved')
    // The transaction runs on the real server; its answer, retries included, never reaches the store.
    let left = losses
    c.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args)
        if (context.commandName === 'TransactWriteItemsCommand' && left > 0) {
          left--
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
        }
        return result
      },
      { step: 'initialize', name: 'loseAnswer' },
    )
    const answer = await outcome(store.save(rotation(old, next)))
    c.middlewareStack.remove('loseAnswer')
    await store.settled()
    expect(answer, `${losses} lost`).toBe('saved')
    expect((await loads(next))?.attributes, `${losses} lost`).toEqual({ user: '"alice"' })
    expect(await loads(old), `${losses} lost`).toBeUndefined()
  }
})

it('DynamoDB is killed after it committed, before the answer left: saved, and the new id loads after the restart', async () => {
  const c = client()
  const store = storeOn(c, { operationTimeoutMs: BOUND_MS })
  for (let trial = 0; trial < 2; trial++) {
    const old = newId()
    const next = newId()
    expect(
      await store.save({ id: old, isNew: true, meta: meta(), set: { user: '"anon"' }, removed: [] }),
    ).toBe('saved')
    let armed = true
    c.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args)
        if (context.commandName === 'TransactWriteItemsCommand' && armed) {
          armed = false
          await server.kill()
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
        }
        return result
      },
      { step: 'initialize', name: 'killAfterCommit' },
    )
    const answer = await outcome(store.save(rotation(old, next)))
    c.middlewareStack.remove('killAfterCommit')
    await server.restart()
    await store.settled()
    expect(answer, `trial ${trial}`).toBe('saved')
    expect((await loads(next))?.attributes, `trial ${trial}`).toEqual({ user: '"alice"' })
    expect(await loads(old), `trial ${trial}`).toBeUndefined()
  }
}, 120_000)
