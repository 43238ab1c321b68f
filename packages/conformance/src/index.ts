import { SessionError, type SessionStore, type StoreCapabilities } from '@sessionkit/core'
import { boundaryCases } from './cases/boundary'
import { capabilityCases } from './cases/capabilities'
import { corruptCases } from './cases/corrupt'
import { deleteCases } from './cases/delete'
import { expiryCases } from './cases/expiry'
import { loadCases } from './cases/load'
import { principalCases } from './cases/principal'
import { rawCases } from './cases/raw'
import { repositoryCases } from './cases/repository'
import { revocationCases } from './cases/revocation'
import { rotateCases } from './cases/rotate'
import { roundtripCases } from './cases/roundtrip'
import { saveCases } from './cases/save'
import { touchCases } from './cases/touch'
import { unavailableCases } from './cases/unavailable'
import { guardStore } from './guard'
import type { CaseContext, CasePlan, ConformanceCase, ConformanceOptions } from './types'

export type { CaseContext, CasePlan, ConformanceCase, ConformanceOptions, Requirement } from './types'
export { storeInWorker, type WorkerStoreOptions } from './worker'

/**
 * The contract version these cases check. A case that tightens the contract arrives behind a
 * capability first and becomes mandatory only at the next major.
 *
 * @example
 * ```ts fragment
 * if (CONFORMANCE_VERSION !== 2) throw new Error('re-read the store contract')
 * ```
 */
export const CONFORMANCE_VERSION = 2

/**
 * Every case, `capabilities/truthful` first. Ids are stable within a major.
 *
 * @example
 * ```ts fragment
 * for (const c of cases) console.log(c.id, c.title, c.requires ?? [])
 * ```
 */
export const cases: readonly ConformanceCase[] = Object.freeze([
  ...capabilityCases,
  ...roundtripCases,
  ...loadCases,
  ...corruptCases,
  ...saveCases,
  ...expiryCases,
  ...touchCases,
  ...deleteCases,
  ...rotateCases,
  ...principalCases,
  ...repositoryCases,
  ...revocationCases,
  ...boundaryCases,
  ...unavailableCases,
  ...rawCases,
])

const DEFAULT_UNAVAILABLE_WITHIN_MS = 5_000
const DEFAULT_OPERATION_TIMEOUT_MS = 10_000

/**
 * Decides per case whether it runs against a store with these capabilities and options, and
 * if not, why. Throws `INVALID_OPTIONS` for a `skip` key that names no case (a typo would
 * otherwise silently run the case, or silently skip nothing).
 *
 * @example
 * ```ts fragment
 * const plan = planCases({ name: 'Mine', createStore, skip: { 'roundtrip/large-value': '400 KB items' } },
 *   { principalIndex: false, shared: true })
 * plan.filter((p) => p.skipReason).forEach((p) => console.log(p.case.id, p.skipReason))
 * ```
 */
export function planCases<S extends SessionStore>(
  options: ConformanceOptions<S>,
  capabilities: StoreCapabilities,
): CasePlan[] {
  const known = new Set(cases.map((c) => c.id))
  const unknown = Object.keys(options.skip ?? {}).filter((id) => !known.has(id))
  if (unknown.length > 0) {
    throw new SessionError('INVALID_OPTIONS', `skip names unknown conformance case(s): ${unknown.join(', ')}`)
  }
  return cases.map((c) => ({ case: c, skipReason: reasonToSkip(c, options, capabilities) }))
}

function reasonToSkip<S extends SessionStore>(
  c: ConformanceCase,
  options: ConformanceOptions<S>,
  capabilities: StoreCapabilities,
): string | undefined {
  const given = options.skip?.[c.id]
  if (given !== undefined) return given
  for (const need of c.requires ?? []) {
    if (need === 'makeUnavailable' || need === 'readRaw' || need === 'corrupt') {
      if (options[need] === undefined) return `no ${need} hook given`
    } else if (!capabilities[need]) {
      return `store capability ${need} is false`
    }
  }
  return undefined
}

/**
 * Runs one case with a fresh store on `namespace`, then disposes every store it opened. The
 * building block of runner adapters (`@sessionkit/conformance/vitest` is one).
 *
 * @example
 * ```ts fragment
 * import { test } from 'node:test'
 * for (const { case: c, skipReason } of planCases(options, capabilities)) {
 *   test(c.id, { skip: skipReason }, () => runConformanceCase(c, options, { namespace: `t-${c.id}`, capabilities }))
 * }
 * ```
 */
export async function runConformanceCase<S extends SessionStore>(
  c: ConformanceCase,
  options: ConformanceOptions<S>,
  run: { namespace: string; capabilities: StoreCapabilities },
): Promise<void> {
  const opened: S[] = []
  const peers: SessionStore[] = []
  const limit = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS
  const raw = await options.createStore({ namespace: run.namespace })
  opened.push(raw)
  const openPeer = async (): Promise<SessionStore> => {
    if (options.createPeer) {
      const peer = await options.createPeer({ namespace: run.namespace })
      peers.push(peer)
      return guardStore(peer, limit, 'peer')
    }
    const peer = await options.createStore({ namespace: run.namespace })
    opened.push(peer)
    return guardStore(peer, limit, 'peer')
  }
  const { makeUnavailable, readRaw, corrupt } = options
  const ctx: CaseContext = {
    store: guardStore(raw, limit, 'store'),
    namespace: run.namespace,
    capabilities: run.capabilities,
    openPeer,
    unavailableWithinMs: options.unavailableWithinMs ?? DEFAULT_UNAVAILABLE_WITHIN_MS,
    ...(makeUnavailable && { makeUnavailable: async () => makeUnavailable(raw) }),
    ...(readRaw && { readRaw: async (id: string) => readRaw(raw, id) }),
    ...(corrupt && { corrupt: async (id: string) => corrupt(raw, id) }),
  }
  let failure: { error: unknown } | undefined
  try {
    await c.run(ctx)
  } catch (error) {
    failure = { error: namePromise(c, error) }
  }
  for (const s of peers.reverse()) {
    try {
      await s.close?.()
    } catch (error) {
      failure ??= { error }
    }
  }
  for (const s of opened.reverse()) {
    try {
      await disposeStore(s, options)
    } catch (error) {
      failure ??= { error }
    }
  }
  if (failure) throw failure.error
}

/** Prefixes the case's promise (its title), so a failure read alone says which one broke. */
function namePromise(c: ConformanceCase, error: unknown): unknown {
  if (error instanceof Error && !error.message.startsWith(`[${c.id}]`)) {
    error.message = `[${c.id}] ${c.title}: ${error.message}`
  }
  return error
}

/**
 * Disposes a store the way the suite does: the author's `disposeStore`, else `close()`.
 *
 * @example
 * ```ts fragment
 * const probe = await options.createStore({ namespace: 'probe' })
 * const { capabilities } = probe
 * await disposeStore(probe, options)
 * ```
 */
export async function disposeStore<S extends SessionStore>(
  store: S,
  options: ConformanceOptions<S>,
): Promise<void> {
  if (options.disposeStore) await options.disposeStore(store)
  else await store.close?.()
}
