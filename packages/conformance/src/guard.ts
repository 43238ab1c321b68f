import type { SessionStore } from '@sessionkit/core'
import assert from './assert'

/**
 * The store as cases see it: every operation must settle within `ms`, or the case fails naming
 * the operation and its id. The runner's own timeout ("Test timed out") names nothing and
 * tells a store author nothing about where the store hangs.
 */
export function guardStore(store: SessionStore, ms: number, label: string): SessionStore {
  const bounded = <T>(operation: string, call: () => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new assert.AssertionError({
              message: `${label}.${operation} did not settle within ${ms} ms: a store operation must resolve or reject, never hang (operationTimeoutMs)`,
            }),
          ),
        ms,
      )
      timer.unref?.()
    })
    // A synchronous throw is a rejection to every caller that awaits.
    const settled = Promise.resolve().then(call)
    return Promise.race([settled, limit]).finally(() => clearTimeout(timer))
  }
  const guarded: SessionStore = {
    get capabilities() {
      return store.capabilities
    },
    load: (id) => bounded(`load(${short(id)})`, () => store.load(id)),
    save: (change) => bounded(`save(${describeChange(change)})`, () => store.save(change)),
    touch: (id, meta) => bounded(`touch(${short(id)})`, () => store.touch(id, meta)),
    delete: (id) => bounded(`delete(${short(id)})`, () => store.delete(id)),
  }
  // Present only when the store has it: core, and capabilities/truthful, decide by presence.
  if (store.findByPrincipal !== undefined) {
    const find = store.findByPrincipal.bind(store)
    Object.assign(guarded, {
      findByPrincipal: (principal: string) =>
        bounded(`findByPrincipal(${short(principal)})`, () => find(principal)),
    })
  }
  if (store.close !== undefined) {
    const close = store.close.bind(store)
    Object.assign(guarded, { close: () => bounded('close()', () => close()) })
  }
  return guarded
}

function short(text: string): string {
  return text.length > 12 ? `${text.slice(0, 8)}…` : text
}

function describeChange(change: Parameters<SessionStore['save']>[0]): string {
  const kind =
    change.previousId !== undefined
      ? `rotation of ${short(change.previousId)} to`
      : change.isNew
        ? 'create'
        : 'update'
  return `${kind} ${short(change.id)}`
}
