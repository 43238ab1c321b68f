import { Client } from './client'

/** One request of the soak, with times in ms since the load started. */
export interface Sample {
  user: string
  kind: 'count' | 'read' | 'login'
  /** The session id the request carried (from the cookie), or undefined. */
  sessionId: string | undefined
  start: number
  end: number
  /** HTTP status, or 0 when no answer came within the client's bound. */
  status: number
  /** The error's code and message, for a status other than 200. */
  error?: string
}

/** What the users saw; the test asserts every count but `requests` and `errors` at 0. */
export interface SoakCounts {
  /** A 200 whose counter is below a value this user was already answered with. */
  lostAcked: number
  lostDetails: string[]
  /** A 200 showing another user. */
  leaks: number
  /** Users answered 200 without a session while logged in: they stay logged out. */
  loggedOut: string[]
  /** A login answered 2xx with a new cookie whose session the next answered request did not find. */
  confirmedUnsaved: string[]
  /** Requests that got no answer within the client's bound. */
  noAnswer: number
  /** Distinct error messages per status. */
  errorMessages: Record<string, Set<string>>
}

/** The session id in a client's `connect.sid` (`s:<id>.<signature>`), or undefined. */
export function sessionIdOf(client: Client): string | undefined {
  const raw = client.jar.get('connect.sid')
  if (!raw) return undefined
  const value = decodeURIComponent(raw)
  return value.startsWith('s:') ? value.slice(2, value.lastIndexOf('.')) : undefined
}

function newCookie(setCookies: string[]): boolean {
  return setCookies.some((c) => c.startsWith('connect.sid=') && !/expires=Thu, 01 Jan 1970/i.test(c))
}

/**
 * A logged-in user who increments a counter and reads it back in turn, and logs in again
 * (an id change) every `RELOGIN_EVERY` requests, through the balancer.
 */
export class SoakUser {
  readonly client: Client
  /** Increments answered 200. */
  acked = 0
  /** Increments answered with an error status: their outcome was "failed". */
  failedIncrements = 0
  /** The highest counter value an answer showed this user. */
  highest = 0
  /** Acknowledged increments since `mark()`. */
  ackedSinceMark = 0
  loggedOut = false
  /** The last few requests as `kind status instance +ms`, to explain a logout. */
  readonly history: string[] = []
  /** A login was confirmed (2xx, new cookie): the next answered request must find the session. */
  private confirmedLogin = false
  private turn = 0

  constructor(
    baseUrl: string,
    boundMs: number,
    readonly user: string,
  ) {
    this.client = new Client(baseUrl, boundMs)
  }

  async login(): Promise<void> {
    const r = await this.client.post(`/api/login?user=${this.user}`)
    if (r.status !== 200 || r.body.user !== this.user) throw new Error(`login of ${this.user}: ${r.status}`)
  }

  async step(load: SoakLoad): Promise<void> {
    const turn = this.turn++
    const kind: Sample['kind'] =
      turn % RELOGIN_EVERY === RELOGIN_EVERY - 1 ? 'login' : turn % 2 ? 'read' : 'count'
    const sample: Sample = {
      user: this.user,
      kind,
      sessionId: sessionIdOf(this.client),
      start: load.now(),
      end: 0,
      status: 0,
    }
    load.samples.push(sample)
    const counts = load.counts
    try {
      const r =
        kind === 'count'
          ? await this.client.post('/api/count')
          : kind === 'login'
            ? await this.client.post(`/api/login?user=${this.user}`)
            : await this.client.get('/api/me')
      sample.end = load.now()
      sample.status = r.status
      this.history.push(`${kind} ${r.status} ${r.instance} +${sample.start.toFixed(0)}`)
      if (this.history.length > 6) this.history.shift()
      if (r.status !== 200) {
        if (kind === 'count') this.failedIncrements++
        sample.error = `${r.body.code ?? r.body.error}: ${r.body.message}`
        counts.errorMessages[r.status] ??= new Set()
        counts.errorMessages[r.status]!.add(sample.error)
        return
      }
      if (r.body.user !== this.user) {
        if (r.body.user !== null) counts.leaks++
        else {
          this.loggedOut = true
          counts.loggedOut.push(`${this.user}: ${this.history.join(', ')}`)
          if (this.confirmedLogin) counts.confirmedUnsaved.push(`${this.user}: ${this.history.join(', ')}`)
        }
        return
      }
      this.confirmedLogin = kind === 'login' && newCookie(r.setCookies)
      const counter = r.body.counter
      const lost = kind === 'count' ? counter <= this.highest : counter < this.highest
      if (lost) {
        counts.lostAcked++
        counts.lostDetails.push(
          `${this.user} ${kind} via ${r.instance} at +${sample.end.toFixed(0)} ms: counter ${counter}, earlier answer ${this.highest}`,
        )
      }
      this.highest = Math.max(this.highest, counter)
      if (kind === 'count') {
        this.acked++
        this.ackedSinceMark++
      }
    } catch {
      sample.end = load.now()
      counts.noAnswer++
    }
  }
}

/** Every this many requests a user logs in again (`changeId`), as an app does on a privilege change. */
const RELOGIN_EVERY = 12

/**
 * Fresh logins (new clients, no cookie) back to back. A login answered 2xx with a new cookie
 * is confirmed: `verify()` later checks that its session loads.
 */
class LoginProbes {
  readonly confirmed: { user: string; client: Client; at: number; by: string | undefined }[] = []
  attempts = 0
  private n = 0

  constructor(
    private readonly baseUrl: string,
    private readonly boundMs: number,
    private readonly tag: string,
  ) {}

  async step(load: SoakLoad): Promise<void> {
    const user = `probe${this.n++}_${this.tag}`
    const client = new Client(this.baseUrl, this.boundMs)
    const start = load.now()
    this.attempts++
    try {
      const r = await client.post(`/api/login?user=${user}`)
      if (r.status >= 200 && r.status < 300 && newCookie(r.setCookies))
        this.confirmed.push({ user, client, at: start, by: r.instance })
    } catch {
      load.counts.noAnswer++
    }
  }

  /** Confirmed logins whose session does not load (the store is healthy again when this runs). */
  async verify(): Promise<string[]> {
    const out: string[] = []
    for (const { user, client, at, by } of this.confirmed) {
      const r = await client.get('/api/me')
      if (r.status !== 200 || r.body.user !== user)
        out.push(`${user}: login 2xx by ${by} at +${at.toFixed(0)} ms, then ${r.status} user ${r.body.user}`)
    }
    return out
  }
}

export type SoakLoad = Awaited<ReturnType<typeof startSoakLoad>>

interface Waiter {
  ready: () => boolean
  resolve: (reached: boolean) => void
}

/**
 * `users` users and `probes` login loops against `baseUrl`, each request bounded by `boundMs`.
 * `until(predicate)` resolves once the predicate holds after some request (true), or false
 * after `timeoutMs`: a test waits on the load's own progress, never on a clock.
 */
export async function startSoakLoad(
  baseUrl: string,
  options: { users: number; probes: number; boundMs: number },
) {
  const tag = Date.now().toString(36)
  const users = Array.from(
    { length: options.users },
    (_, i) => new SoakUser(baseUrl, options.boundMs, `u${i}_${tag}`),
  )
  await Promise.all(users.map((u) => u.login()))
  const probes = Array.from(
    { length: options.probes },
    (_, i) => new LoginProbes(baseUrl, options.boundMs, `${i}_${tag}`),
  )
  const t0 = performance.now()
  const counts: SoakCounts = {
    lostAcked: 0,
    lostDetails: [],
    leaks: 0,
    loggedOut: [],
    confirmedUnsaved: [],
    noAnswer: 0,
    errorMessages: {},
  }
  let stopped = false
  let waiters: Waiter[] = []
  const check = () => {
    waiters = waiters.filter((w) => {
      if (!w.ready()) return true
      w.resolve(true)
      return false
    })
  }
  const load = {
    users,
    probes,
    counts,
    samples: [] as Sample[],
    now: () => performance.now() - t0,
    /** Users still logged in. */
    active: () => users.filter((u) => !u.loggedOut),
    mark: () => {
      for (const u of users) u.ackedSinceMark = 0
    },
    until: (ready: () => boolean, timeoutMs: number) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter)
          resolve(false)
        }, timeoutMs)
        const waiter: Waiter = {
          ready,
          resolve: (reached) => {
            clearTimeout(timer)
            resolve(reached)
          },
        }
        waiters.push(waiter)
        check()
      }),
    stop: async () => {
      stopped = true
      await Promise.all(loops)
      for (const w of waiters) w.resolve(false)
    },
  }
  const loops = [
    ...users.map(async (user) => {
      while (!stopped && !user.loggedOut) {
        await user.step(load)
        check()
      }
    }),
    ...probes.map(async (probe) => {
      while (!stopped) await probe.step(load)
    }),
  ]
  return load
}
