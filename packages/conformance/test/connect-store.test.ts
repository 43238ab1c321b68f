import { type Codec, fromCallbackStore, type SessionStore } from '@sessionkit/core'
import { describeStoreConformance } from '../src/vitest'
import { ConnectBackend, ConnectStyleStore } from './fixtures/connect-store'

const backends = new Map<string, ConnectBackend>()
const backendFor = (namespace: string) => {
  const backend = backends.get(namespace) ?? new ConnectBackend()
  backends.set(namespace, backend)
  return backend
}
const namespaces = new WeakMap<SessionStore, string>()

/**
 * The suite's attribute values are arbitrary strings, not JSON: kept as opaque strings in the
 * whole-object session, as a codec may. (The repository always hands JSON; the adapter
 * decodes it into the peers' object shape.)
 */
const opaque: Codec = {
  encode: (value) => (typeof value === 'string' ? value : JSON.stringify(value)),
  decode: (text) => text,
}

/**
 * What a third-party connect store is worth: the cases it cannot pass, and why. The connect
 * interface has get, set (whole object), destroy and touch, and nothing conditional: every
 * save is a read followed by a write of the whole session, and errors carry no outage signal.
 */
const cannot = {
  whole:
    'a connect store writes whole objects (set), so a save is read-then-write: concurrent saves of different attributes lose all but the last',
  resurrect:
    'a connect store has no conditional write: a save that read the session before a racing delete writes it back (resurrection)',
  create:
    'a connect store has no create-if-absent: concurrent creations of one id all answer saved and the last one wins',
  rotate:
    'a connect store has no atomic take: two concurrent rotations of one id both find it and both answer saved',
  orphan:
    'a connect store has no atomic take: of two concurrent rotations the loser has already written its new id, an orphan no client holds',
  partial: 'a connect store has no conditional write: a save racing a delete leaves the whole object behind',
  outage:
    'connect store errors carry no outage signal: the adapter reports STORE_ERROR (500), never STORE_UNAVAILABLE (503)',
  corrupt:
    'a connect store throws on bytes it cannot parse (here JSON.parse); the adapter reports that as STORE_ERROR, not CORRUPT_RECORD',
}

describeStoreConformance<SessionStore>({
  name: 'core connect-store adapter (fromCallbackStore) over a connect-style store',
  createStore: ({ namespace }) => {
    const store = fromCallbackStore(new ConnectStyleStore(backendFor(namespace)), { codec: opaque })
    namespaces.set(store, namespace)
    return store
  },
  makeUnavailable: async (store) => {
    backendFor(namespaces.get(store)!).down = true
  },
  readRaw: async (store, id) => backendFor(namespaces.get(store)!).sessions.get(id),
  corrupt: async (store, id) => {
    backendFor(namespaces.get(store)!).sessions.set(id, '{"cookie":{"expires":')
  },
  unavailableWithinMs: 1_000,
  skip: {
    'save/attribute-merge': cannot.whole,
    'save/race-delete': cannot.resurrect,
    'save/concurrent-create': cannot.create,
    'rotate/concurrent': cannot.rotate,
    'raw/no-orphans': cannot.orphan,
    'raw/no-partial-records': cannot.partial,
    'unavailable/rejects': cannot.outage,
    'corrupt/backend': cannot.corrupt,
  },
})
