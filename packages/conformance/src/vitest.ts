import { randomBytes } from 'node:crypto'
import type { SessionStore } from '@sessionkit/core'
import { describe, it } from 'vitest'
import { type CasePlan, CONFORMANCE_VERSION, disposeStore, planCases, runConformanceCase } from './index'
import type { ConformanceOptions } from './types'

export type { ConformanceOptions } from './types'

/**
 * Declares the conformance suite as vitest tests: one synchronous call at module scope. Each case
 * gets a fresh store on a fresh namespace; cases run concurrently against one backend, the
 * clock-bound ones after the rest. A case the store cannot run shows as skipped with the reason.
 *
 * @example
 * ```ts
 * import { describeStoreConformance } from '@sessionkit/conformance/vitest'
 * import { MyStore } from '../src/index.js'
 *
 * describeStoreConformance({
 *   name: 'MyStore',
 *   createStore: ({ namespace }) => new MyStore({ prefix: namespace }),
 *   skip: { 'roundtrip/large-value': 'items are limited to 400 KB' },
 * })
 * ```
 */
export function describeStoreConformance<S extends SessionStore>(options: ConformanceOptions<S>): void {
  const run = randomBytes(4).toString('hex')
  const timeout = caseTimeout(options)
  describe(`${options.name}: sessionkit store conformance v${CONFORMANCE_VERSION}`, async () => {
    // The plan needs the manifest, which only a store instance has.
    const probe = await options.createStore({ namespace: `skc-${run}-probe` })
    const capabilities = {
      principalIndex: probe.capabilities.principalIndex,
      shared: probe.capabilities.shared,
    }
    await disposeStore(probe, options)

    let n = 0
    const declare = (plan: CasePlan) => {
      const namespace = `skc-${run}-${n++}`
      const { case: c, skipReason: skip } = plan
      const title = skip === undefined ? `${c.id}: ${c.title}` : `${c.id}: ${c.title} (skipped: ${skip})`
      const test = skip === undefined ? it.concurrent : it.skip
      // Explicit, and above every bound the cases apply themselves (operationTimeoutMs,
      // unavailableWithinMs), so a hang is reported by the case, naming the operation.
      test(title, () => runConformanceCase(c, options, { namespace, capabilities }), timeout)
    }
    const plan = planCases(options, capabilities)
    for (const p of plan) if (!p.case.timing) declare(p)
    // A sibling suite runs after the concurrent group, so heavy cases cannot stretch expiry windows.
    describe('clock-bound cases', () => {
      for (const p of plan) if (p.case.timing) declare(p)
    })
  })
}

function caseTimeout<S extends SessionStore>(options: ConformanceOptions<S>): number {
  const bounds = [options.operationTimeoutMs ?? 10_000, options.unavailableWithinMs ?? 5_000]
  return Math.max(options.caseTimeoutMs ?? 120_000, ...bounds.map((ms) => 2 * ms))
}
