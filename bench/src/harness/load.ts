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

/**
 * Drives one server with autocannon from the harness process (never the server's own
 * process): `connections` keep-alive connections for `seconds`.
 */
export async function load(
  url: string,
  options: { connections: number; seconds: number; cookie: string | undefined },
): Promise<LoadResult> {
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    headers: options.cookie ? { cookie: options.cookie } : {},
  })
  const requests = result.requests.total
  return {
    requests,
    seconds: result.duration,
    rps: requests / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  }
}
