/**
 * The README's connect-store figures: runs the conformance suite over `fromCallbackStore`'s
 * documented default on each real connect store of test/fixtures/real-connect-stores.ts and
 * prints, as Markdown, the cases passed, failed and skipped per store and every skip with its
 * reason. Each skip given as "the connect store cannot" is also run (`--trials`, default 5,
 * times): a skip whose case never failed is reported, so no skip hides a case the store passes.
 *
 *   pnpm --filter @sessionkit/conformance scorecard:connect [-- --trials 5]
 */
import { randomBytes } from 'node:crypto'
import type { SessionStore, StoreCapabilities } from '@sessionkit/core'
import { type CasePlan, disposeStore, planCases, runConformanceCase } from '../src/index'
import type { ConformanceOptions } from '../src/types'
import { connectStoreRuns } from '../test/fixtures/real-connect-stores'

const trialsArg = process.argv.indexOf('--trials')
const trials = trialsArg === -1 ? 5 : Number(process.argv[trialsArg + 1])

interface Outcome {
  id: string
  error?: unknown
}

interface Scorecard {
  name: string
  passed: string[]
  failed: Outcome[]
  skipped: { id: string; reason: string; failedTrials?: number }[]
}

async function runAll(
  plans: readonly CasePlan[],
  options: ConformanceOptions<SessionStore>,
  capabilities: StoreCapabilities,
): Promise<Outcome[]> {
  const run = randomBytes(4).toString('hex')
  let n = 0
  const one = async (plan: CasePlan): Promise<Outcome> => {
    try {
      await runConformanceCase(plan.case, options, { namespace: `skc-${run}-${n++}`, capabilities })
      return { id: plan.case.id }
    } catch (error) {
      return { id: plan.case.id, error }
    }
  }
  // As the vitest runner does: the clock-bound cases after the others, so those cannot stretch expiry windows.
  const first = await Promise.all(plans.filter((p) => !p.case.timing).map(one))
  const timed = await Promise.all(plans.filter((p) => p.case.timing).map(one))
  return [...first, ...timed]
}

async function score(name: string, options: ConformanceOptions<SessionStore>): Promise<Scorecard> {
  const probe = await options.createStore({ namespace: `skc-probe-${randomBytes(4).toString('hex')}` })
  const capabilities = {
    principalIndex: probe.capabilities.principalIndex,
    shared: probe.capabilities.shared,
  }
  await disposeStore(probe, options)
  const plans = planCases(options, capabilities)
  const outcomes = await runAll(
    plans.filter((p) => p.skipReason === undefined),
    options,
    capabilities,
  )
  const card: Scorecard = {
    name,
    passed: outcomes.filter((o) => o.error === undefined).map((o) => o.id),
    failed: outcomes.filter((o) => o.error !== undefined),
    skipped: [],
  }
  // The skips the store's options give (not those that follow from its capabilities or
  // missing hooks): run them anyway, to show they fail.
  // A case whose hook the store has none of (makeUnavailable on a store with no server) cannot run.
  const runnable = (p: CasePlan) =>
    (p.case.requires ?? []).every(
      (need) => !(need === 'makeUnavailable' || need === 'readRaw' || need === 'corrupt') || options[need],
    )
  const given = plans.filter((p) => options.skip?.[p.case.id] !== undefined && runnable(p))
  const failures = new Map<string, number>()
  for (let trial = 0; trial < trials; trial++) {
    for (const o of await runAll(given, { ...options, skip: {} }, capabilities)) {
      if (o.error !== undefined) failures.set(o.id, (failures.get(o.id) ?? 0) + 1)
    }
  }
  for (const p of plans) {
    if (p.skipReason === undefined) continue
    const probed = given.includes(p)
    card.skipped.push({
      id: p.case.id,
      reason: p.skipReason,
      ...(probed ? { failedTrials: failures.get(p.case.id) ?? 0 } : {}),
    })
  }
  return card
}

const cards: Scorecard[] = []
for (const run of connectStoreRuns) {
  const started = await run.start()
  try {
    cards.push(await score(run.name, started.options))
  } finally {
    await started.stop()
  }
}

const lines: string[] = []
lines.push('| store | passed | failed | skipped |', '| --- | --- | --- | --- |')
for (const c of cards)
  lines.push(`| ${c.name} | ${c.passed.length} | ${c.failed.length} | ${c.skipped.length} |`)
lines.push('')
// One row per skip reason, with the stores it applies to.
const byReason = new Map<string, { ids: Set<string>; stores: Set<string>; runs: Set<string> }>()
for (const c of cards) {
  for (const s of c.skipped) {
    const entry = byReason.get(s.reason) ?? { ids: new Set(), stores: new Set(), runs: new Set() }
    entry.ids.add(s.id)
    entry.stores.add(c.name)
    entry.runs.add(s.failedTrials === undefined ? 'not run' : `${s.failedTrials} of ${trials}`)
    byReason.set(s.reason, entry)
  }
}
lines.push('| skipped cases | stores | why | run anyway: runs that failed |', '| --- | --- | --- | --- |')
for (const [reason, { ids, stores, runs }] of byReason) {
  const names = stores.size === cards.length ? 'all' : [...stores].join(', ')
  const cases = [...ids].map((id) => `\`${id}\``).join(', ')
  lines.push(`| ${cases} | ${names} | ${reason.replaceAll('|', '\\|')} | ${[...runs].join(', ')} |`)
}
console.log(lines.join('\n'))

let wrong = false
for (const c of cards) {
  for (const f of c.failed) {
    wrong = true
    console.error(`\nFAILED ${c.name} ${f.id}: ${(f.error as Error)?.message ?? f.error}`)
  }
  for (const s of c.skipped) {
    if (s.failedTrials === 0) {
      wrong = true
      console.error(`\nSKIP NOT NEEDED ${c.name} ${s.id}: passed all ${trials} trials`)
    }
  }
  const probed = c.skipped.filter((s) => s.failedTrials !== undefined)
  if (probed.length > 0)
    console.error(
      `${c.name}: skipped cases run ${trials} times each, failed runs: ${probed.map((s) => `${s.id} ${s.failedTrials}/${trials}`).join(', ')}`,
    )
}
process.exitCode = wrong ? 1 : 0
