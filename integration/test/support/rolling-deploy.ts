/**
 * The harness of the migration tests (test/migration-*.test.ts): app servers, each its own
 * process, behind a round-robin balancer, replaced one by one as a rolling deploy does (each new
 * server takes traffic before the old one stops, and the old one finishes what it has in
 * flight), while users log in, then read and write in a loop. Each test file gives only its
 * path's specifics: which app, which phases, what to check between them.
 */
import { fork } from 'node:child_process'
import { join } from 'node:path'
import { trackChild } from '@sessionkit/test-servers'
import { expect } from 'vitest'
import { type Balancer, startBalancer } from '../../src/balancer'
import { Client, type Reply } from './client'

const here = import.meta.dirname
export const USERS = 12
/** Requests every user makes between two server replacements. */
export const ROUNDS = 4
const STARTUP_BOUND_MS = 60_000

export interface Server<P extends string = string> {
  name: string
  phase: P
  url: string
  stop(): Promise<void>
}

/**
 * Forks `script` (a file of test/support) with `args` as JSON in argv[2]; it reports `{ port }`
 * over IPC. An exit without `stop()` is recorded in `crashes` with the server's last output.
 */
export async function forkServer<P extends string>(
  script: string,
  args: object,
  name: string,
  phase: P,
  crashes: string[],
): Promise<Server<P>> {
  const proc = fork(join(here, script), [JSON.stringify(args)], {
    cwd: join(here, '../..'),
    execArgv: ['--conditions=@sessionkit/source', '--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  trackChild(proc)
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000)
  }
  proc.stdout?.on('data', keep)
  proc.stderr?.on('data', keep)
  let stopping = false
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      if (!stopping) crashes.push(`${name} (${phase}) exited (${code ?? signal}):\n${output}`)
      resolve()
    }),
  )
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} not ready in ${STARTUP_BOUND_MS} ms`)),
      STARTUP_BOUND_MS,
    )
    proc.once('message', (message: { port: number }) => {
      clearTimeout(timer)
      resolve(message.port)
    })
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${name} (${phase}) exited during startup (code ${code}):\n${output}`))
    })
  })
  return {
    name,
    phase,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      stopping = true
      proc.kill('SIGTERM')
      await exited
    },
  }
}

/** How a test file's servers start and stop. */
export interface Servers<P extends string> {
  start(name: string, phase: P): Promise<Server<P>>
  /** Runs just before a server stops (e.g. reads its admin route). */
  beforeStop?(server: Server<P>): Promise<void>
}

/** The servers behind the balancer, replaced one at a time as a rolling deploy does. */
export class Fleet<P extends string> {
  servers: Server<P>[] = []
  readonly steps: string[] = []

  constructor(
    readonly balancer: Balancer,
    readonly kind: Servers<P>,
  ) {}

  static async start<P extends string>(kind: Servers<P>, phase: P, count = 3): Promise<Fleet<P>> {
    const fleet = new Fleet(await startBalancer({ backends: [], mode: 'round-robin' }), kind)
    fleet.servers = await Promise.all(Array.from({ length: count }, (_, i) => kind.start(`s${i + 1}`, phase)))
    fleet.#route()
    fleet.steps.push(`${count} × ${phase}`)
    return fleet
  }

  /**
   * Server `index` now runs `phase`: the new one takes traffic first, the old one drains (every
   * user finished the request it had in flight, as a load balancer's deregistration delay
   * waits), then it stops.
   */
  async replace(index: number, phase: P, drained: () => Promise<void>): Promise<void> {
    const old = this.servers[index]!
    this.servers[index] = await this.kind.start(old.name, phase)
    this.#route()
    await drained()
    await this.#retire(old)
    this.steps.push(`${old.name}: ${old.phase} → ${phase}`)
  }

  #route() {
    this.balancer.setBackends(this.servers.map((s) => ({ name: `${s.name}:${s.phase}`, url: s.url })))
  }

  async #retire(server: Server<P>) {
    await this.kind.beforeStop?.(server)
    await server.stop()
  }

  async stop() {
    await Promise.all(this.servers.map((s) => this.#retire(s)))
    await this.balancer.close()
  }
}

export interface Figures {
  requests: number
  logouts: number
  lostWrites: number
  clearedCookies: number
  serverErrors: number
  otherErrors: number
  acknowledgedWrites: number
  servedBy: Record<string, number>
  problems: string[]
}

export function emptyFigures(): Figures {
  return {
    requests: 0,
    logouts: 0,
    lostWrites: 0,
    clearedCookies: 0,
    serverErrors: 0,
    otherErrors: 0,
    acknowledgedWrites: 0,
    servedBy: {},
    problems: [],
  }
}

type Body = { user?: string | null; counter?: number | null; error?: string }

/** One user: a writing tab (a write, counter + 1, and a read in turn) and a reading tab, one cookie jar. */
export class User {
  readonly client: Client
  acked = 0
  done = 0
  polls = 0

  constructor(
    readonly name: string,
    baseUrl: string,
    readonly figures: Figures,
  ) {
    this.client = new Client(baseUrl)
  }

  async login() {
    const reply = await this.client.post(`/login?user=${this.name}`)
    if (reply.status !== 200 || (reply.body as Body).user !== this.name)
      throw new Error(`login of ${this.name} failed: ${reply.status} ${JSON.stringify(reply.body)}`)
  }

  /** One request, checked: the user is still logged in and sees every acknowledged write. */
  async step(write: boolean): Promise<void> {
    try {
      const reply = await this.client.send(write ? 'POST' : 'GET', write ? '/count' : '/me')
      this.check(reply, write)
    } catch (err) {
      this.figures.otherErrors++
      this.figures.problems.push(`${this.name}: ${(err as Error).message}`)
    }
    this.done++
  }

  /**
   * The reading tab (same cookies) reading while the writing one writes: it sees every write
   * acknowledged before it was sent, and its responses never replace a cookie a write set meanwhile.
   */
  async poll(): Promise<void> {
    const before = this.acked
    try {
      const reply = await this.client.get('/me')
      const body = reply.body as Body
      if (
        this.counted(reply) &&
        typeof body.counter === 'number' &&
        (body.counter < before || body.counter > this.acked + 1)
      ) {
        this.figures.lostWrites++
        this.figures.problems.push(
          `${this.name}: poll saw ${body.counter} on ${reply.instance}, acknowledged ${before}`,
        )
      }
    } catch (err) {
      this.figures.otherErrors++
      this.figures.problems.push(`${this.name}: poll: ${(err as Error).message}`)
    }
    this.polls++
  }

  check(reply: Reply, write: boolean) {
    if (!this.counted(reply)) return
    const f = this.figures
    const body = reply.body as Body
    const expected = write ? this.acked + 1 : this.acked
    if (body.counter !== expected) {
      f.lostWrites++
      f.problems.push(`${this.name}: counter ${body.counter} on ${reply.instance}, expected ${expected}`)
    }
    if (write) {
      f.acknowledgedWrites++
      this.acked = expected
    }
  }

  /** Counts the reply; true when it is a 200 of this user's session (the counter is then checked). */
  counted(reply: Reply): boolean {
    const f = this.figures
    const body = reply.body as Body
    f.requests++
    const phase = reply.instance?.split(':')[1] ?? 'balancer'
    f.servedBy[phase] = (f.servedBy[phase] ?? 0) + 1
    for (const line of reply.setCookies) {
      const [pair, ...attrs] = line.split(';')
      const cleared =
        pair!.slice(pair!.indexOf('=') + 1) === '' ||
        attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) <= Date.now())
      if (cleared) {
        f.clearedCookies++
        f.problems.push(`${this.name}: cookie cleared by ${reply.instance}: ${line}`)
      }
    }
    if (reply.status >= 500) {
      f.serverErrors++
      f.problems.push(`${this.name}: ${reply.status} from ${reply.instance}: ${JSON.stringify(body)}`)
      return false
    }
    if (reply.status !== 200) {
      f.otherErrors++
      f.problems.push(`${this.name}: ${reply.status} from ${reply.instance}`)
      return false
    }
    if (body.user !== this.name) {
      f.logouts++
      f.problems.push(`${this.name}: logged out on ${reply.instance} (saw ${JSON.stringify(body)})`)
      return false
    }
    return true
  }
}

export type Load = Awaited<ReturnType<typeof startLoad>>

/**
 * USERS users in a loop until stopped, and `idle` users who log in at the start and come back
 * only at the end; `rounds(n)` resolves once each looping user made n more requests.
 */
async function startLoad(baseUrl: string, idleCount: number) {
  const figures = emptyFigures()
  const users = Array.from({ length: USERS }, (_, i) => new User(`user${i + 1}`, baseUrl, figures))
  const idle = Array.from({ length: idleCount }, (_, i) => new User(`idle${i + 1}`, baseUrl, figures))
  await Promise.all([...users, ...idle].map((u) => u.login()))
  let running = true
  // Both tabs of every user count: a drain waits for the requests of both to finish.
  const waiters: { target: { done: number; polls: number }[]; resolve: () => void }[] = []
  const wake = () => {
    for (const w of [...waiters]) {
      if (users.every((u, i) => u.done >= w.target[i]!.done && u.polls >= w.target[i]!.polls)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve()
      }
    }
  }
  const loops = users.flatMap((user) => [
    (async () => {
      for (let i = 0; running; i++) {
        await user.step(i % 2 === 0)
        wake()
      }
    })(),
    (async () => {
      while (running) {
        await user.poll()
        wake()
      }
    })(),
  ])
  return {
    figures,
    users,
    rounds: (n: number) =>
      new Promise<void>((resolve) => {
        waiters.push({ target: users.map((u) => ({ done: u.done + n, polls: u.polls + 1 })), resolve })
        wake()
      }),
    /** Ends the loops without the final check (a failed deploy step). */
    async abort() {
      running = false
      await Promise.all(loops)
    },
    async stop() {
      running = false
      await Promise.all(loops)
      // Every user once more on every server: still logged in, every write there.
      for (const user of [...users, ...idle]) for (let i = 0; i < 3; i++) await user.step(false)
    },
  }
}

export function expectZeros(f: Figures) {
  expect(f.problems.slice(0, 20)).toEqual([])
  expect({
    logouts: f.logouts,
    lostWrites: f.lostWrites,
    clearedCookies: f.clearedCookies,
    serverErrors: f.serverErrors,
    otherErrors: f.otherErrors,
  }).toEqual({ logouts: 0, lostWrites: 0, clearedCookies: 0, serverErrors: 0, otherErrors: 0 })
}

export interface Deploy<P extends string> {
  title: string
  servers: Servers<P>
  /** The phase of the three servers at the start. */
  initial: P
  /** Servers that exited without being stopped; must stay empty. */
  crashes: string[]
  /** Users who only log in at the start and check at the end. */
  idle?: number
  /** The steps, under load; `notes` are printed with the figures. */
  deploy(fleet: Fleet<P>, rounds: (n: number) => Promise<void>, notes: string[]): Promise<void>
  /** More lines to print, read once every server stopped. */
  summary?(): string[]
}

/** Runs `deploy` under load on a fleet that starts with three servers of `initial`; checks the zeros. */
export async function underLoad<P extends string>(run: Deploy<P>): Promise<Load> {
  const fleet = await Fleet.start(run.servers, run.initial)
  const started = performance.now()
  const notes: string[] = []
  let load: Load
  try {
    load = await startLoad(fleet.balancer.url, run.idle ?? 0)
    try {
      await load.rounds(ROUNDS)
      await run.deploy(fleet, load.rounds, notes)
    } catch (err) {
      await load.abort()
      throw err
    }
    await load.stop()
  } finally {
    await fleet.stop()
  }
  const f = load.figures
  const users = run.idle ? `${USERS} users + ${run.idle} idle` : `${USERS} users`
  console.log(
    [
      `${run.title} (${users}, ${((performance.now() - started) / 1000).toFixed(1)} s)`,
      `  steps: ${fleet.steps.join('; ')}`,
      ...[...notes, ...(run.summary?.() ?? [])].map((line) => `  ${line}`),
      `  requests ${f.requests} (a writing tab and a reading tab per user), acknowledged writes ${f.acknowledgedWrites}, served by ${JSON.stringify(f.servedBy)}`,
      `  logouts ${f.logouts}, lost writes ${f.lostWrites}, cleared cookies ${f.clearedCookies}, 5xx ${f.serverErrors}, other errors ${f.otherErrors}`,
      ...f.problems.slice(0, 20).map((p) => `  ! ${p}`),
    ].join('\n'),
  )
  expect(run.crashes).toEqual([])
  expectZeros(f)
  expect(f.acknowledgedWrites).toBeGreaterThan(USERS * ROUNDS)
  return load
}

/** Replaces the servers `which`, one after the other, with ones running `phase`. */
export async function rollTo<P extends string>(
  fleet: Fleet<P>,
  phase: P,
  rounds: (n: number) => Promise<void>,
  which = [0, 1, 2],
) {
  for (const index of which) {
    await fleet.replace(index, phase, () => rounds(1))
    await rounds(ROUNDS)
  }
}
