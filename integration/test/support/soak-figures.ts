import type { Instance } from '../../src/fleet'
import type { Sample, SoakLoad } from './soak-load'

/** The p-th percentile (0..1) of `values`, or NaN for none. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}

/** Samples that started in [from, to). */
export function within(samples: Sample[], from: number, to = Number.POSITIVE_INFINITY): Sample[] {
  return samples.filter((s) => s.start >= from && s.start < to)
}

/** ms from `from` to the end of the first acknowledged increment that started at or after it. */
export function firstAckAfter(samples: Sample[], from: number): number | undefined {
  const ends = within(samples, from)
    .filter((s) => s.kind === 'count' && s.status === 200)
    .map((s) => s.end)
  return ends.length ? Math.min(...ends) - from : undefined
}

/** Latencies of the reads that started in [from, to): p50 and p99, and how many were not 200. */
export function reads(samples: Sample[], from: number, to: number) {
  const r = within(samples, from, to).filter((s) => s.kind === 'read')
  const ms = r.map((s) => s.end - s.start)
  return {
    n: r.length,
    p50: percentile(ms, 0.5),
    p99: percentile(ms, 0.99),
    failed: r.filter((s) => s.status !== 200).length,
  }
}

export function statuses(samples: Sample[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of samples) out[s.status] = (out[s.status] ?? 0) + 1
  return out
}

/**
 * After the load stopped and the store is healthy: every logged-in user's session on every
 * instance. `lost`: a counter below what the user was answered with, or below the number of
 * acknowledged increments; `appliedAfterError`: increments beyond the acknowledged ones, i.e.
 * increments answered with an error that landed anyway; `gone`: sessions that no longer load.
 */
export async function finalCheck(load: SoakLoad, instances: Instance[]) {
  let lost = 0
  let appliedAfterError = 0
  const details: string[] = []
  const gone: string[] = []
  for (const user of load.active()) {
    let counter: number | undefined
    for (const instance of instances) {
      const r = await user.client.get('/api/me', instance.url)
      if (r.status !== 200 || r.body.user !== user.user) {
        gone.push(`${user.user} on ${instance.name}: ${r.status} user ${r.body.user}`)
        continue
      }
      counter = r.body.counter
      if (counter < user.highest || counter < user.acked) {
        lost++
        details.push(
          `${user.user} on ${instance.name}: counter ${counter}, answered ${user.highest}, acknowledged ${user.acked}`,
        )
      }
    }
    if (counter !== undefined && counter > user.acked) {
      appliedAfterError += counter - user.acked
      details.push(
        `${user.user}: counter ${counter} after ${user.acked} acknowledged and ${user.failedIncrements} failed increments`,
      )
    }
  }
  return { lost, appliedAfterError, gone, details }
}

/** A table, one column per scenario, printed with aligned columns. */
export function table(columns: string[], rows: [string, ...string[]][]): string {
  const all = [['', ...columns], ...rows]
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)))
  return all.map((r) => `| ${r.map((c, i) => (c ?? '').padEnd(widths[i]!)).join(' | ')} |`).join('\n')
}

export const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : `${v.toFixed(0)} ms`)
