import { type Framework, peerOf, type Variant, type Workload } from '../matrix'
import type { Measurement } from './cell'
import type { PlannedCell } from './plan'

/** One cell after all passes: the median pass by req/s, plus what it is compared with. */
export interface CellResult {
  framework: Framework
  variant: Variant
  workload: Workload
  skip?: string
  error?: string
  /** Every pass, in run order. */
  passes: Measurement[]
  median?: Measurement
  /** 1/rps(cell) - 1/rps(bare framework), µs per request. */
  addedMicros?: number
  /** The app server's CPU time per request, and that minus the bare framework's. */
  serverCpuMicrosPerRequest?: number
  addedCpuMicros?: number
  /** Commands the app sent to Redis per request (MONITOR pass), and those its scripts ran. */
  redisCommandsPerRequest?: number
  redisScriptCommandsPerRequest?: number
  /** Per request, from the Redis server's INFO deltas. */
  redisCpuMicrosPerRequest?: number
  /** Bytes the app sent to the store per request (Redis: total_net_input_bytes). */
  storeBytesPerRequest?: number
  storeRequestsPerRequest?: number
  /** PostgreSQL: statements the server executed, their execution time and its CPU, per request. */
  postgresStatementsPerRequest?: number
  postgresExecMicrosPerRequest?: number
  postgresCpuMicrosPerRequest?: number
  perCommand?: Record<string, number>
  /** Against the peer cell of the same framework and workload, in this run. */
  vsPeer?: {
    addedRatio?: number
    addedCpuRatio?: number
    rpsRatio?: number
    redisCpuRatio?: number
    bytesRatio?: number
  }
}

export function medianPass(passes: Measurement[]): Measurement | undefined {
  if (passes.length === 0) return undefined
  const sorted = [...passes].sort((a, b) => a.rps - b.rps)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

/** Derives per-request figures and the ratios, all within this run. */
export function summarize(
  cells: PlannedCell[],
  passes: Map<PlannedCell, Measurement[]>,
  errors: Map<PlannedCell, string>,
): CellResult[] {
  const results = cells.map((cell): CellResult => {
    const list = passes.get(cell) ?? []
    const median = medianPass(list)
    const result: CellResult = {
      framework: cell.framework,
      variant: cell.variant,
      workload: cell.variant === 'bare' ? 'read' : cell.workload.name,
      passes: list,
    }
    if (cell.skip) result.skip = cell.skip
    const error = errors.get(cell)
    if (error) result.error = error
    if (!median || median.requests === 0) return result
    result.median = median
    if (median.redis) {
      result.redisCpuMicrosPerRequest = median.redis.cpuMicros / median.requests
      result.storeBytesPerRequest = median.redis.netIn / median.requests
      result.perCommand = Object.fromEntries(
        Object.entries(median.redis.perCommand).map(([name, calls]) => [name, calls / median.requests]),
      )
    }
    result.serverCpuMicrosPerRequest = median.serverCpuMicros / median.requests
    if (median.monitor && median.monitor.requests > 0) {
      result.redisCommandsPerRequest = median.monitor.sent / median.monitor.requests
      result.redisScriptCommandsPerRequest = median.monitor.inScripts / median.monitor.requests
    }
    if (median.store) {
      result.storeRequestsPerRequest = median.store.requests / median.requests
      // PostgreSQL's round trips are counted without their bytes.
      if (median.store.bytes > 0) result.storeBytesPerRequest = median.store.bytes / median.requests
    }
    if (median.postgres) {
      result.postgresStatementsPerRequest = median.postgres.statements / median.requests
      result.postgresExecMicrosPerRequest = (median.postgres.execMs * 1000) / median.requests
      result.postgresCpuMicrosPerRequest = median.postgres.cpuMicros / median.requests
    }
    return result
  })
  const find = (framework: Framework, variant: Variant, workload: Workload) =>
    results.find(
      (r) => r.framework === framework && r.variant === variant && r.workload === workload && r.median,
    )
  for (const result of results) {
    const bare = find(result.framework, 'bare', 'read')
    // The wide session is driven one request at a time: its bare comparison would be at 50.
    if (result.median && bare?.median && result.variant !== 'bare' && result.workload !== 'wide') {
      result.addedMicros = 1e6 / result.median.rps - 1e6 / bare.median.rps
      result.addedCpuMicros = result.serverCpuMicrosPerRequest! - bare.serverCpuMicrosPerRequest!
    }
    const peerVariant = peerOf[result.variant]
    const peer = peerVariant && find(result.framework, peerVariant, result.workload)
    if (!peer?.median || !result.median) continue
    result.vsPeer = {
      rpsRatio: result.median.rps / peer.median.rps,
      ...(result.addedMicros !== undefined && peer.addedMicros !== undefined
        ? { addedRatio: result.addedMicros / peer.addedMicros }
        : {}),
      ...(result.addedCpuMicros !== undefined && peer.addedCpuMicros
        ? { addedCpuRatio: result.addedCpuMicros / peer.addedCpuMicros }
        : {}),
      ...(result.redisCpuMicrosPerRequest !== undefined && peer.redisCpuMicrosPerRequest
        ? { redisCpuRatio: result.redisCpuMicrosPerRequest / peer.redisCpuMicrosPerRequest }
        : {}),
      ...(result.storeBytesPerRequest !== undefined && peer.storeBytesPerRequest
        ? { bytesRatio: result.storeBytesPerRequest / peer.storeBytesPerRequest }
        : {}),
    }
  }
  return results
}
