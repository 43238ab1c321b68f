import { Worker } from 'node:worker_threads'
import {
  SessionError,
  type SessionErrorCode,
  type SessionStore,
  type StoreCapabilities,
} from '@sessionkit/core'

/**
 * Where the store's module lives and how to start the thread that opens it.
 *
 * @example
 * ```ts
 * const options: WorkerStoreOptions = { namespace, execArgv: ['--import', 'tsx'] }
 * ```
 */
export interface WorkerStoreOptions {
  /** Passed to the module's factory: the peer shares the case's records. */
  namespace: string
  /** The factory the module exports. Default `createStore`. */
  exportName?: string
  /** Node flags for the thread, e.g. `['--import', 'tsx']` for a TypeScript module. Default: the parent's. */
  execArgv?: string[]
}

/**
 * Plain JavaScript the thread evaluates: imports the module, calls its factory, then runs one
 * store operation per message. Operations of one thread are ordered only by the backend, as a
 * second app server's are.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const fail = (error) => ({ message: String(error && error.message || error), code: error && error.code, name: error && error.name })
import(workerData.module).then(async (mod) => {
  const factory = mod[workerData.exportName] ?? mod.default?.[workerData.exportName]
  if (typeof factory !== 'function') throw new Error(workerData.module + ' exports no function ' + workerData.exportName)
  const store = await factory({ namespace: workerData.namespace })
  parentPort.on('message', async ({ n, op, args }) => {
    try {
      const value = await store[op](...args)
      parentPort.postMessage({ n, ok: true, value })
    } catch (error) {
      parentPort.postMessage({ n, ok: false, error: fail(error) })
    }
  })
  const { principalIndex, shared } = store.capabilities
  parentPort.postMessage({ ready: { principalIndex, shared }, find: typeof store.findByPrincipal === 'function' })
}).catch((error) => parentPort.postMessage({ failed: fail(error) }))
`

interface Reply {
  n: number
  ok: boolean
  value?: unknown
  error?: { message: string; code?: string; name?: string }
}

/**
 * Opens the store in a worker thread and answers with a proxy whose every operation runs
 * there: the peer for stores whose driver is synchronous (better-sqlite3, node:sqlite, a
 * file store), where two instances in one thread never interleave and a missing transaction
 * never shows. The module exports a factory (`createStore({ namespace })` by default); its
 * errors arrive as `SessionError`s with their code. `close()` closes the store, then ends the thread.
 *
 * @example
 * ```ts
 * describeStoreConformance({
 *   name: 'SqliteStore',
 *   createStore: ({ namespace }) => new SqliteStore({ file, table: namespace }),
 *   createPeer: ({ namespace }) => storeInWorker(new URL('./peer.mjs', import.meta.url), { namespace }),
 * })
 * ```
 */
export async function storeInWorker(
  module: string | URL,
  options: WorkerStoreOptions,
): Promise<SessionStore> {
  const href = module instanceof URL ? module.href : new URL(module, 'file://').href
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      module: href,
      exportName: options.exportName ?? 'createStore',
      namespace: options.namespace,
    },
    ...(options.execArgv && { execArgv: options.execArgv }),
  })
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>()
  let next = 0
  let exited: Error | undefined
  const started = new Promise<{ ready: StoreCapabilities; find: boolean }>((resolve, reject) => {
    worker.on(
      'message',
      (message: Reply & { ready?: StoreCapabilities; find?: boolean; failed?: Reply['error'] }) => {
        if (message.ready) return resolve({ ready: message.ready, find: message.find === true })
        if (message.failed)
          return reject(new Error(`the worker could not open ${href}: ${message.failed.message}`))
        const call = pending.get(message.n)
        pending.delete(message.n)
        if (!call) return
        if (message.ok) call.resolve(message.value)
        else call.reject(toError(message.error!))
      },
    )
    worker.on('error', reject)
    worker.on('exit', (code) => {
      exited = new Error(`the store's worker thread exited (code ${code})`)
      reject(exited)
      for (const call of pending.values()) call.reject(exited)
      pending.clear()
    })
  })
  const { ready, find } = await started
  const call = <T>(op: string, ...args: unknown[]): Promise<T> => {
    if (exited) return Promise.reject(exited)
    const n = next++
    return new Promise<T>((resolve, reject) => {
      pending.set(n, { resolve: resolve as (value: unknown) => void, reject })
      worker.postMessage({ n, op, args })
    })
  }
  const store: SessionStore = {
    capabilities: ready,
    load: (id) => call('load', id),
    save: (change) => call('save', change),
    touch: (id, meta) => call('touch', id, meta),
    delete: (id) => call('delete', id),
    close: async () => {
      try {
        await call('close')
      } catch {
        // A store without close() is closed by ending its thread.
      }
      await worker.terminate()
    },
  }
  if (find)
    Object.assign(store, { findByPrincipal: (principal: string) => call('findByPrincipal', principal) })
  return store
}

function toError(error: NonNullable<Reply['error']>): Error {
  if (error.name === 'SessionError' && error.code)
    return new SessionError(error.code as SessionErrorCode, error.message)
  return Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code })
}
