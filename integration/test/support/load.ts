import { Client } from './client'

/** What the virtual users saw; every count but `requests`/`ok`/`errors` must end at 0. */
export interface LoadStats {
  requests: number
  ok: number
  /** Non-200 answers and failed requests. */
  errors: number
  /** A 200 showing another user's marker. */
  leaks: number
  /** A 200 without any session where the user was logged in: a silent logout. */
  silentLogouts: number
  /** A 200 whose stored sequence number is below the last write acknowledged to this user. */
  lostWrites: number
  /** What each lost write looked like: the user, the acknowledged value, the value seen, recent writes. */
  lostDetails: string[]
  /** Requests that got no answer within the bound (aborted). */
  hung: number
  slowestMs: number
  /** ms since load start of the first and last error, when any. */
  firstErrorAt: number | undefined
  lastErrorAt: number | undefined
  /** Status codes of the errors, with counts. */
  errorStatuses: Record<string, number>
  /** The distinct error messages seen per status code. */
  errorMessages: Record<string, Set<string>>
}

interface Waiter {
  ready: () => boolean
  resolve: () => void
}

/** A user that logged in with a unique marker and alternates writes of a sequence number with reads. */
export class VirtualUser {
  readonly client: Client
  /** Highest sequence number the app acknowledged (200) as written. */
  acked = 0
  /** Acknowledged writes since `mark()`. */
  writesSinceMark = 0
  private nextValue = 1
  private turn = 0
  /** Recent writes as `value:status`, to explain a lost write. */
  readonly recent: string[] = []

  constructor(
    baseUrl: string,
    boundMs: number,
    readonly user: string,
    readonly marker: string,
  ) {
    this.client = new Client(baseUrl, boundMs)
  }

  async login(): Promise<void> {
    const r = await this.client.post(`/api/login?user=${this.user}&marker=${this.marker}`)
    if (r.status !== 200 || r.body.marker !== this.marker)
      throw new Error(`login of ${this.user}: ${r.status}`)
  }

  /** One request: a write of the next sequence number, or a read. */
  async step(stats: LoadStats, t0: number): Promise<void> {
    const write = this.turn++ % 2 === 0
    const value = this.nextValue++
    const started = performance.now()
    const ackedBefore = this.acked
    stats.requests++
    try {
      const r = write
        ? await this.client.post(`/api/set?name=seq&value=${value}`)
        : await this.client.get('/api/me')
      if (write) this.recent.push(`${value}:${r.status}`)
      if (this.recent.length > 12) this.recent.shift()
      if (r.status !== 200)
        return error(stats, t0, String(r.status), `${r.body.code ?? r.body.error}: ${r.body.message}`)
      stats.ok++
      if (r.body.marker === null) stats.silentLogouts++
      else if (r.body.marker !== this.marker) stats.leaks++
      const seen = Number(r.body.attrs?.seq ?? 0)
      if (seen < ackedBefore) {
        stats.lostWrites++
        stats.lostDetails.push(
          `${this.user} at +${(performance.now() - t0).toFixed(0)} ms via ${r.instance}: acknowledged ${ackedBefore}, read ${seen}; writes ${this.recent.join(' ')}`,
        )
      }
      if (write && r.body.marker === this.marker) {
        this.acked = value
        this.writesSinceMark++
      }
    } catch (err) {
      if (write) this.recent.push(`${value}:${(err as Error).name}`)
      if ((err as Error).name === 'TimeoutError') stats.hung++
      error(stats, t0, (err as Error).name, (err as Error).message)
    } finally {
      stats.slowestMs = Math.max(stats.slowestMs, performance.now() - started)
    }
  }
}

function error(stats: LoadStats, t0: number, status: string, message: string) {
  stats.errorMessages[status] ??= new Set()
  stats.errorMessages[status].add(message)
  const at = performance.now() - t0
  stats.errors++
  stats.firstErrorAt ??= at
  stats.lastErrorAt = at
  stats.errorStatuses[status] = (stats.errorStatuses[status] ?? 0) + 1
}

/**
 * `count` virtual users hitting `baseUrl` back to back, each request bounded by `boundMs`.
 * `until(predicate)` resolves once the predicate holds after some request: the test waits
 * on the load's own progress, never on a clock.
 */
export async function startLoad(baseUrl: string, count: number, boundMs: number) {
  const tag = Date.now().toString(36)
  const users = Array.from(
    { length: count },
    (_, i) => new VirtualUser(baseUrl, boundMs, `vu${i}_${tag}`, `m${i}_${tag}`),
  )
  await Promise.all(users.map((u) => u.login()))
  const stats: LoadStats = {
    requests: 0,
    ok: 0,
    errors: 0,
    leaks: 0,
    silentLogouts: 0,
    lostWrites: 0,
    lostDetails: [],
    hung: 0,
    slowestMs: 0,
    firstErrorAt: undefined,
    lastErrorAt: undefined,
    errorStatuses: {},
    errorMessages: {},
  }
  const t0 = performance.now()
  let stopped = false
  let waiters: Waiter[] = []
  const check = () => {
    waiters = waiters.filter((w) => {
      if (!w.ready()) return true
      w.resolve()
      return false
    })
  }
  const loops = users.map(async (user) => {
    while (!stopped) {
      await user.step(stats, t0)
      check()
    }
  })
  return {
    users,
    stats,
    t0,
    /** Resets every user's count of acknowledged writes. */
    mark: () => {
      for (const u of users) u.writesSinceMark = 0
    },
    until: (ready: () => boolean, what: string, timeoutMs: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`load: ${what} not reached within ${timeoutMs} ms`)),
          timeoutMs,
        )
        waiters.push({
          ready,
          resolve: () => {
            clearTimeout(timer)
            resolve()
          },
        })
        check()
      }),
    stop: async () => {
      stopped = true
      await Promise.all(loops)
      return { ...stats, durationMs: performance.now() - t0 }
    },
  }
}
