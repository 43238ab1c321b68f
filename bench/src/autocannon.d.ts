declare module 'autocannon' {
  /** The part of autocannon 8's API and result the harness uses (it ships no types). */
  interface Histogram {
    average: number
    p50: number
    p99: number
    total: number
  }
  interface Result {
    requests: Histogram
    latency: Histogram
    duration: number
    errors: number
    timeouts: number
    non2xx: number
  }
  interface Options {
    url: string
    connections?: number
    duration?: number
    amount?: number
    sampleInt?: number
    headers?: Record<string, string>
  }
  export default function autocannon(options: Options): Promise<Result>
}
