import autocannon from 'autocannon'

export interface LoadResult {
  requests: number
  seconds: number
  rps: number
  p50Ms: number
  p99Ms: number
  errors: number
  non2xx: number
}

export interface LoadOptions {
  connections: number
  /** For this long, or (smoke runs) for this many requests. */
  length: { seconds: number } | { requests: number }
  cookie: string | undefined
}

/**
 * Drives one server with autocannon from the harness process (never the server's own
 * process) over `connections` keep-alive connections.
 */
export async function load(url: string, options: LoadOptions): Promise<LoadResult> {
  const started = performance.now()
  const result = await autocannon({
    url,
    connections: options.connections,
    ...('seconds' in options.length
      ? { duration: options.length.seconds }
      : // autocannon notices the last answer only at its next sample tick (default 1 s).
        { amount: options.length.requests, sampleInt: 50 }),
    headers: options.cookie ? { cookie: options.cookie } : {},
  })
  // autocannon's own duration has 10 ms steps: too coarse for a smoke run's few hundred requests.
  const seconds = (performance.now() - started) / 1000
  const requests = result.requests.total
  return {
    requests,
    seconds,
    rps: requests / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  }
}
