/**
 * `pnpm bench [--smoke] [--seconds N] [--warmup N] [--runs N] [--frameworks a,b]
 * [--variants a,b] [--workloads a,b] [--out dir] [--profile dir]`
 *
 * Runs the matrix and writes RESULTS.md and results.json to `--out` (default: this package;
 * smoke runs default to smoke-results/, which git ignores). Fails only when a cell cannot run
 * (a server that does not start, errors, non-2xx answers): numbers are reported, never asserted.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type Measurement, measureCell, measureOn, openStack } from './harness/cell'
import { environment } from './harness/environment'
import { defaultSelection, type PlannedCell, plan } from './harness/plan'
import { renderMarkdown } from './harness/report'
import { summarize } from './harness/summary'
import type { Framework, Variant, Workload } from './matrix'

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    runs: { type: 'string' },
    frameworks: { type: 'string' },
    variants: { type: 'string' },
    workloads: { type: 'string' },
    out: { type: 'string' },
    profile: { type: 'string' },
  },
})

const smoke = values.smoke
// A smoke run sends a few hundred requests per cell (a few per cell of the wide session).
const seconds = values.seconds !== undefined ? Number(values.seconds) : smoke ? undefined : 5
const warmupSeconds = Number(values.warmup ?? (smoke ? 0 : 1))
const runs = Number(values.runs ?? (smoke ? 1 : 3))
const list = <T extends string>(text: string | undefined, fallback: readonly T[]) =>
  text ? (text.split(',') as T[]) : fallback
const selection = {
  frameworks: list<Framework>(values.frameworks, defaultSelection.frameworks),
  variants: list<Variant>(values.variants, defaultSelection.variants),
  workloads: list<Workload>(values.workloads, defaultSelection.workloads),
}
const here = fileURLToPath(new URL('..', import.meta.url))
const outDir = values.out ?? (smoke ? join(here, 'smoke-results') : here)

const before = environment()
const started = Date.now()
const cells = plan(selection)
const passes = new Map<PlannedCell, Measurement[]>()
const errors = new Map<PlannedCell, string>()
const runnable = cells.filter((c) => !c.skip)
const nameOf = (c: PlannedCell) =>
  `${c.framework} ${c.variant}${c.variant === 'bare' ? '' : ` ${c.workload.name}`}`

let cellStarted = Date.now()
const record = (pass: number, cell: PlannedCell, m: Measurement) => {
  passes.set(cell, [...(passes.get(cell) ?? []), m])
  const trouble = m.errors + m.non2xx > 0 ? ` (${m.errors} errors, ${m.non2xx} non-2xx)` : ''
  if (trouble || m.requests === 0) errors.set(cell, `${m.requests} requests${trouble}`)
  const seconds = ((Date.now() - cellStarted) / 1000).toFixed(1)
  console.log(`pass ${pass + 1}/${runs} ${nameOf(cell)}: ${Math.round(m.rps)} req/s${trouble} (${seconds} s)`)
  cellStarted = Date.now()
}
const fail = (pass: number, cell: PlannedCell, err: unknown) => {
  errors.set(cell, (err as Error).message)
  console.log(`pass ${pass + 1}/${runs} ${nameOf(cell)}: FAILED ${(err as Error).message}`)
}
const options = { seconds, warmupSeconds, profileDir: values.profile }

// Whole passes over the matrix rather than repeats of one cell: a burst of load from
// elsewhere on the machine then lands on several cells' passes, not on all of one cell's.
for (let pass = 0; pass < runs; pass++) {
  if (!smoke) {
    for (const cell of runnable) {
      await measureCell(cell, options).then(
        (m) => record(pass, cell, m),
        (err) => fail(pass, cell, err),
      )
    }
    continue
  }
  // A smoke run only proves every cell still works: one server per framework and variant
  // serves all its workloads, which keeps the run within the test budget.
  const groups = new Map<string, PlannedCell[]>()
  for (const c of runnable)
    groups.set(`${c.framework} ${c.variant}`, [...(groups.get(`${c.framework} ${c.variant}`) ?? []), c])
  for (const group of groups.values()) {
    const first = group[0]!
    const stack = await openStack(first.framework, first.variant, options.profileDir).catch((err) => {
      for (const cell of group) fail(pass, cell, err)
    })
    if (!stack) continue
    for (const cell of group) {
      await measureOn(stack, cell, options).then(
        (m) => record(pass, cell, m),
        (err) => fail(pass, cell, err),
      )
    }
    await stack.close()
  }
}

const results = summarize(cells, passes, errors)
const info = {
  command: `pnpm bench ${process.argv.slice(2).join(' ')}`.trim(),
  smoke,
  seconds,
  warmupSeconds,
  runs,
  before,
  after: environment(),
  elapsedSeconds: (Date.now() - started) / 1000,
}
mkdirSync(outDir, { recursive: true })
writeFileSync(join(outDir, 'RESULTS.md'), renderMarkdown(info, results))
writeFileSync(join(outDir, 'results.json'), `${JSON.stringify({ ...info, results }, null, 2)}\n`)
console.log(`wrote ${join(outDir, 'RESULTS.md')} and results.json in ${Math.round(info.elapsedSeconds)} s`)
for (const cell of cells.filter((c) => c.skip)) {
  console.log(`not run: ${cell.framework} ${cell.variant} ${cell.workload.name}: ${cell.skip}`)
}
if (errors.size > 0) {
  for (const [cell, message] of errors) {
    console.error(`cell failed: ${cell.framework} ${cell.variant} ${cell.workload.name}: ${message}`)
  }
  process.exitCode = 1
}
