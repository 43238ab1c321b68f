import { readdirSync, readFileSync } from 'node:fs'
import { type PostgresServer, startPostgres } from '@sessionkit/test-servers'

/** The PostgreSQL server's own counters, read before and after a measurement. */
export interface PostgresSample {
  /** Statements executed (pg_stat_statements calls, BEGIN/COMMIT included), the samples' own excluded. */
  statements: number
  /** Their execution time, ms (pg_stat_statements total_exec_time: planning not included). */
  execMs: number
  /** CPU time (user + system) of the postmaster and every process it forked that is still running, µs. */
  cpuMicros: number
}

/** A fresh server with pg_stat_statements loaded and created. */
export async function startPostgresWithStats(): Promise<PostgresServer> {
  const server = await startPostgres({
    settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'top' },
  })
  await server.sql('CREATE EXTENSION pg_stat_statements')
  return server
}

export async function samplePostgres(server: PostgresServer): Promise<PostgresSample> {
  // The sample's own statements (this query, and the extension's) are left out by their text.
  const line = await server.sql(
    "SELECT coalesce(sum(calls), 0), coalesce(sum(total_exec_time), 0) FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%'",
  )
  const [statements, execMs] = line.split('|').map(Number)
  return { statements: statements ?? 0, execMs: execMs ?? 0, cpuMicros: treeCpuMicros(server.pid) }
}

export function postgresDelta(before: PostgresSample, after: PostgresSample): PostgresSample {
  return {
    statements: after.statements - before.statements,
    execMs: after.execMs - before.execMs,
    cpuMicros: after.cpuMicros - before.cpuMicros,
  }
}

/**
 * utime + stime from /proc of the postmaster and its children: the pool's backends live through
 * the measurement, so their CPU is the database's work for these requests (clock ticks: 10 ms
 * resolution at the usual 100 Hz, fine over seconds of load).
 */
function treeCpuMicros(pid: number | undefined): number {
  if (pid === undefined) return 0
  const ticksPerSecond = 100
  let ticks = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue
    }
    // Fields after the command name (in parentheses): state ppid ... utime is the 14th field.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(entry) !== pid && Number(rest[1]) !== pid) continue
    ticks += Number(rest[11]) + Number(rest[12])
  }
  return (ticks / ticksPerSecond) * 1e6
}
