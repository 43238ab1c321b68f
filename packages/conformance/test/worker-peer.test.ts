import { randomBytes } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { type ConformanceOptions, cases, runConformanceCase, storeInWorker } from '../src/index'
// @ts-expect-error: plain JavaScript without declarations (a worker thread loads it as is)
import { createNaiveStore, createStore, removeNamespace } from './fixtures/sync-file-store.mjs'

/**
 * A store over a synchronous driver with no transactions passes every race case when both
 * instances share one thread (nothing interleaves), and fails them once the second instance
 * runs in a worker thread (`storeInWorker`); the same store with a lock passes there too.
 */
const module = new URL('./fixtures/sync-file-store.mjs', import.meta.url)
const raceCases = [
  'save/attribute-merge',
  'save/race-delete',
  'save/concurrent-create',
  'touch/race-delete',
  'touch/race-save',
  'rotate/concurrent',
]
const capabilities = { principalIndex: false, shared: true }
const namespaces: string[] = []

function options(naive: boolean, inWorker: boolean): ConformanceOptions {
  const exportName = naive ? 'createNaiveStore' : 'createStore'
  return {
    name: exportName,
    createStore: ({ namespace }) => (naive ? createNaiveStore : createStore)({ namespace }),
    ...(inWorker && { createPeer: ({ namespace }) => storeInWorker(module, { namespace, exportName }) }),
  }
}

async function failures(naive: boolean, inWorker: boolean): Promise<Map<string, string>> {
  const failed = new Map<string, string>()
  for (const id of raceCases) {
    const c = cases.find((x) => x.id === id)!
    const namespace = `worker-${randomBytes(4).toString('hex')}`
    namespaces.push(namespace)
    await runConformanceCase(c, options(naive, inWorker), { namespace, capabilities }).catch((error: Error) =>
      failed.set(id, error.message),
    )
  }
  return failed
}

afterAll(() => {
  for (const namespace of namespaces) removeNamespace(namespace)
})

describe('a synchronous-driver store and storeInWorker', () => {
  it('without transactions, passes the race cases when both instances share a thread', {
    timeout: 60_000,
  }, async () => {
    expect([...(await failures(true, false)).keys()]).toEqual([])
  })

  it('without transactions, fails them when the peer runs in a worker thread, naming the semantic', {
    timeout: 60_000,
  }, async () => {
    const failed = await failures(true, true)
    expect([...failed.keys()]).toEqual(raceCases)
    expect(failed.get('save/attribute-merge')).toMatch(/no concurrent save may lose another one/)
    expect(failed.get('save/race-delete')).toMatch(/a save racing a delete resurrected it/)
  })

  it('with a cross-thread lock, passes them with the peer in a worker thread', {
    timeout: 60_000,
  }, async () => {
    expect(Object.fromEntries(await failures(false, true))).toEqual({})
  })
})
