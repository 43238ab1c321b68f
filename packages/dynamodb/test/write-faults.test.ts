import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { isSessionError } from '@sessionkit/core'
import { type DynamoDBLocal, startDynamoDB } from '@sessionkit/test-servers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DynamoDBStore } from '../src/index'
import { createTableInput } from '../src/table'
import { delta, meta, newId, readRaw, storeOn, TABLE } from './support'

// Issue 26, item 5: a write answered STORE_UNAVAILABLE must not be applied after all. DynamoDB
// Local (its own, since it is paused) is stopped (SIGSTOP) while a save, touch, create or delete
// is in flight and resumed past `operationTimeoutMs`, within the resolution window; once the
// store has settled, what is stored is what the answer said.

const BOUND_MS = 1000
const RESOLVE_MS = 2500

let server: DynamoDBLocal
const clients: DynamoDBClient[] = []
const client = (options: Record<string, unknown> = {}) => {
  const c = new DynamoDBClient({ ...server.clientConfig, ...options })
  clients.push(c)
  return c
}
let view: DynamoDBStore

beforeAll(async () => {
  server = await startDynamoDB({ tables: [createTableInput(TABLE)] })
  view = storeOn(client())
})
afterAll(async () => {
  for (const c of clients) c.destroy()
  await server?.stop()
})

/**
 * Stops the server just as the next `commandName` goes out and resumes it `BOUND_MS + lateMs`
 * after: the request is received but answered only after the store gave up waiting for it.
 */
function pauseWhileSending(target: DynamoDBClient, commandName: string, lateMs: number): Promise<void> {
  let armed = true
  let resumed!: () => void
  const done = new Promise<void>((resolve) => {
    resumed = resolve
  })
  const name = `pause-${newId().slice(0, 8)}`
  target.middlewareStack.add(
    (next, context) => async (args) => {
      if (!armed || context.commandName !== commandName) return next(args)
      armed = false
      target.middlewareStack.remove(name)
      const resumeAt = performance.now() + BOUND_MS + lateMs
      const sent = next(args)
      void server.pause().then(() => {
        // The fault's length is the point here: the server stays stopped past the bound.
        setTimeout(
          () => {
            server.resume()
            resumed()
          },
          Math.max(0, resumeAt - performance.now()),
        )
      })
      return sent
    },
    { step: 'finalizeRequest', name },
  )
  return done
}

async function outcome(promise: Promise<unknown>) {
  try {
    return await promise
  } catch (err) {
    expect(isSessionError(err, 'STORE_UNAVAILABLE'), String(err)).toBe(true)
    return 'unavailable'
  }
}

const initial = { n: '0' }
type Case = {
  command: string
  /** The write under test, on a session created with {@link initial} (or a fresh id for create). */
  write: (store: DynamoDBStore, id: string) => Promise<unknown>
  /** The answer that means "applied". */
  applied: unknown
  /** Whether the stored state shows the write. */
  shows: (id: string) => Promise<boolean>
  existing: boolean
}

/** A save's metadata as core sends it for an unchanged owner and idle timeout. */
const touchMeta = () => delta({ lastAccessedAt: Date.now(), expiresAt: Date.now() + 600_000 })
const cases: Record<string, Case> = {
  save: {
    command: 'UpdateItemCommand',
    existing: true,
    write: (store, id) => store.save({ id, isNew: false, meta: touchMeta(), set: { n: '1' }, removed: [] }),
    applied: 'saved',
    shows: async (id) => (await view.load(id))?.attributes.n === '1',
  },
  touch: {
    command: 'UpdateItemCommand',
    existing: true,
    write: (store, id) => store.touch(id, { lastAccessedAt: Date.now(), expiresAt: Date.now() + 900_000 }),
    applied: true,
    // Created with 600 s to live; the touch gives 900 s.
    shows: async (id) => ((await view.load(id))?.expiresAt ?? 0) > Date.now() + 700_000,
  },
  create: {
    command: 'PutItemCommand',
    existing: false,
    write: (store, id) => store.save({ id, isNew: true, meta: meta(), set: { n: '1' }, removed: [] }),
    applied: 'saved',
    shows: async (id) => (await view.load(id)) !== undefined,
  },
  delete: {
    command: 'DeleteItemCommand',
    existing: true,
    write: (store, id) => store.delete(id),
    applied: undefined,
    shows: async (id) => (await view.load(id)) === undefined,
  },
}

describe.each([
  ['SDK defaults', {}],
  ['one attempt', { maxAttempts: 1 }],
])('a write whose server stops mid-flight (%s)', (label, options) => {
  it.each(Object.keys(cases))(
    '%s: after settled(), the store holds what the answer said',
    async (kind) => {
      const c = cases[kind]!
      const target = client(options)
      const store = storeOn(target, { operationTimeoutMs: BOUND_MS, resolveTimeoutMs: RESOLVE_MS })
      const tally: Record<string, number> = {}
      for (let trial = 0; trial < 8; trial++) {
        const id = newId()
        if (c.existing) {
          expect(await store.save({ id, isNew: true, meta: meta(), set: initial, removed: [] })).toBe('saved')
        }
        // Resumed at varying moments within the resolution window.
        const resumed = pauseWhileSending(target, c.command, 100 + ((trial * 300) % 1000))
        const started = performance.now()
        const answer = await outcome(c.write(store, id))
        const ms = performance.now() - started
        await resumed
        await store.settled()
        const shows = await c.shows(id)
        const where = `${kind}, trial ${trial}: answered ${String(answer)} after ${ms.toFixed(0)} ms`
        expect(answer === 'unavailable' ? 'unavailable' : answer, where).toBe(
          answer === 'unavailable' ? 'unavailable' : c.applied,
        )
        expect(shows, `${where}, yet the store ${shows ? 'shows' : 'lacks'} the write`).toBe(
          answer !== 'unavailable',
        )
        expect(ms, where).toBeLessThan(BOUND_MS + RESOLVE_MS + 500)
        const key = answer === 'unavailable' ? 'unavailable' : 'applied'
        tally[key] = (tally[key] ?? 0) + 1
      }
      console.info(`[${label}] ${kind}:`, tally)
    },
    120_000,
  )
})

it('a write whose answer is lost after DynamoDB applied it answers that it was applied', async () => {
  // One attempt: the SDK's own retry of a lost answer is the next test.
  const target = client({ maxAttempts: 1 })
  const store = storeOn(target, { operationTimeoutMs: BOUND_MS, resolveTimeoutMs: RESOLVE_MS })
  for (const kind of ['save', 'touch', 'create'] as const) {
    const c = cases[kind]!
    const id = newId()
    if (c.existing) {
      expect(await store.save({ id, isNew: true, meta: meta(), set: initial, removed: [] })).toBe('saved')
    }
    // Applied by the real server; its answer is lost on the wire (inside the SDK's deserialize step).
    let armed = true
    target.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args)
        if (context.commandName === c.command && armed) {
          armed = false
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
        }
        return result
      },
      { step: 'deserialize', priority: 'low', name: 'loseAnswer' },
    )
    const answer = await outcome(c.write(store, id))
    target.middlewareStack.remove('loseAnswer')
    await store.settled()
    expect(answer, kind).toBe(c.applied)
    expect(await c.shows(id), kind).toBe(true)
  }
})

it("the SDK's own retry of an applied save never lands twice over a newer write", async () => {
  const target = client()
  const store = storeOn(target, { operationTimeoutMs: BOUND_MS })
  const other = storeOn(client())
  for (let trial = 0; trial < 3; trial++) {
    const id = newId()
    expect(await store.save({ id, isNew: true, meta: meta(), set: initial, removed: [] })).toBe('saved')
    // The first copy is applied, another server saves a newer value, then the answer of the first
    // copy is lost on the wire and the SDK sends the same request again.
    let armed = true
    target.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args)
        if (context.commandName === 'UpdateItemCommand' && armed) {
          armed = false
          expect(
            await other.save({ id, isNew: false, meta: touchMeta(), set: { n: '2' }, removed: [] }),
          ).toBe('saved')
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
        }
        return result
      },
      { step: 'deserialize', name: 'loseAnswerThenRetry' },
    )
    const answer = await outcome(
      store.save({ id, isNew: false, meta: touchMeta(), set: { n: '1' }, removed: [] }),
    )
    target.middlewareStack.remove('loseAnswerThenRetry')
    expect(answer, `trial ${trial}`).toBe('saved')
    const raw = await readRaw(clients[0]!, id)
    // created (0), our save (1), the newer save (2): no third write.
    expect(raw?.ver?.N, `trial ${trial}`).toBe('2')
    expect((await view.load(id))?.attributes.n, `trial ${trial}: the retry overwrote the newer save`).toBe(
      '2',
    )
  }
})

it('a server stopped past the resolution window: STORE_UNAVAILABLE within both bounds, then the write either lands once or is fenced', async () => {
  const target = client()
  const store = storeOn(target, { operationTimeoutMs: BOUND_MS, resolveTimeoutMs: 500 })
  const tally = { 'not applied': 0, 'landed after the answer': 0 }
  for (let trial = 0; trial < 4; trial++) {
    const id = newId()
    expect(await store.save({ id, isNew: true, meta: meta(), set: initial, removed: [] })).toBe('saved')
    // Resumed only after the answer: the write and the fences sent meanwhile all wait in the server.
    const resumed = pauseWhileSending(target, 'UpdateItemCommand', 1000)
    const started = performance.now()
    const answer = await outcome(cases.save!.write(store, id))
    const ms = performance.now() - started
    await resumed
    await store.settled()
    expect(answer, `trial ${trial}`).toBe('unavailable')
    expect(ms, `trial ${trial}`).toBeLessThan(BOUND_MS + 500 + 300)
    // The create's mark plus exactly one of the save's: applied, or fenced (never both, never twice).
    const raw = await readRaw(clients[0]!, id)
    const marks = ['wt0', 'wt1', 'wt2'].flatMap((field) => raw?.[field]?.SS ?? [])
    const landed = await cases.save!.shows(id)
    expect(marks.filter((m) => m.startsWith('a')).length, `trial ${trial}`).toBe(landed ? 2 : 1)
    expect(marks.filter((m) => m.startsWith('f')).length, `trial ${trial}`).toBe(landed ? 0 : 1)
    tally[landed ? 'landed after the answer' : 'not applied']++
  }
  console.info('paused past operationTimeoutMs + resolveTimeoutMs:', tally)
}, 60_000)
