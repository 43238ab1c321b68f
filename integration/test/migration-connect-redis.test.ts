import { fork } from 'node:child_process'
import { join } from 'node:path'
import { RedisStore } from '@sessionkit/redis'
import { type RedisServer, startRedis, trackChild } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Balancer, startBalancer } from '../src/balancer'
import { Client, type Reply } from './support/client'
import type { Framework, Phase } from './support/connect-redis-migration-app'

/**
 * The connect-redis paths of docs/MIGRATION.md, run as an operator runs them: real
 * express-session 1.19 / @fastify/session 11 servers on connect-redis (node-redis) and
 * @sessionkit/express / @sessionkit/fastify servers on @sessionkit/redis, each its own process,
 * behind a round-robin balancer, one Redis. Users log in, then read and write in a loop while
 * the servers are replaced one by one (each new server takes traffic before the old one stops,
 * and the old one finishes what it has in flight), forward through the phases and back.
 */

const here = import.meta.dirname
const USERS = 12
/**
 * Users who log in at the start and come back only at the end: their sessions are never
 * written during the deploy, so the finish's bulk conversion is what moves them.
 */
const IDLE = 6
/** Requests every user makes between two server replacements. */
const ROUNDS = 4
const STARTUP_BOUND_MS = 60_000

interface Server {
  name: string
  phase: Phase
  url: string
  stop(): Promise<void>
}

let redis: RedisServer
/** Servers that exited without being stopped, with their last output. */
const crashes: string[] = []
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(() => redis?.stop())

async function startServer(framework: Framework, name: string, phase: Phase): Promise<Server> {
  const proc = fork(
    join(here, 'support/connect-redis-migration-app.ts'),
    [JSON.stringify({ name, framework, phase, redisUrl: redis.url })],
    {
      cwd: join(here, '..'),
      execArgv: ['--conditions=@sessionkit/source', '--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  )
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

/** The servers behind the balancer, replaced one at a time as a rolling deploy does. */
class Fleet {
  servers: Server[] = []
  readonly steps: string[] = []

  constructor(
    readonly framework: Framework,
    readonly balancer: Balancer,
  ) {}

  static async start(framework: Framework, phase: Phase, count = 3): Promise<Fleet> {
    const fleet = new Fleet(framework, await startBalancer({ backends: [], mode: 'round-robin' }))
    fleet.servers = await Promise.all(
      Array.from({ length: count }, (_, i) => startServer(framework, `s${i + 1}`, phase)),
    )
    fleet.#route()
    fleet.steps.push(`${count} × ${phase}`)
    return fleet
  }

  /** Server `index` now runs `phase`: the new one takes traffic first, the old one drains, then stops. */
  async replace(index: number, phase: Phase, drained: () => Promise<void>): Promise<void> {
    const old = this.servers[index]!
    this.servers[index] = await startServer(this.framework, old.name, phase)
    this.#route()
    await drained()
    await old.stop()
    this.steps.push(`${old.name}: ${old.phase} → ${phase}`)
  }

  #route() {
    this.balancer.setBackends(this.servers.map((s) => ({ name: `${s.name}:${s.phase}`, url: s.url })))
  }

  async stop() {
    await Promise.all(this.servers.map((s) => s.stop()))
    await this.balancer.close()
  }
}

interface Figures {
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

type Body = { user?: string | null; counter?: number | null; error?: string }

/** One user: a writing tab (a write, counter + 1, and a read in turn) and a reading tab, one cookie jar. */
class User {
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

  /** The reading tab: sees every write acknowledged before it was sent. */
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

/** USERS users in a loop until stopped; `rounds(n)` resolves once each made n more requests. */
async function startLoad(baseUrl: string) {
  const figures: Figures = {
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
  const users = Array.from({ length: USERS }, (_, i) => new User(`user${i + 1}`, baseUrl, figures))
  const idle = Array.from({ length: IDLE }, (_, i) => new User(`idle${i + 1}`, baseUrl, figures))
  await Promise.all([...users, ...idle].map((u) => u.login()))
  let running = true
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

/** The operator's tool (docs/MIGRATION.md): sessions per format. */
async function count() {
  const client = new Redis(redis.url)
  try {
    return await new RedisStore({ client, legacy: { prefix: 'sess:' } }).migration!.count()
  } finally {
    client.disconnect()
  }
}

/** The finish's one-off script (docs/MIGRATION.md), run while users keep working. */
async function convertAll() {
  const client = new Redis(redis.url)
  try {
    // docs/MIGRATION.md's script, as written there.
    return await new RedisStore({ client, legacy: { prefix: 'sess:' } }).migration!.convert({
      batch: 500,
      ratePerSecond: 2000,
    })
  } finally {
    client.disconnect()
  }
}

function report(title: string, fleet: Fleet, f: Figures, ms: number, extra: string[]) {
  console.log(
    [
      `${title} (${USERS} users + ${IDLE} idle, ${(ms / 1000).toFixed(1)} s)`,
      `  steps: ${fleet.steps.join('; ')}`,
      ...extra.map((line) => `  ${line}`),
      `  requests ${f.requests} (a writing tab and a reading tab per user), acknowledged writes ${f.acknowledgedWrites}, served by ${JSON.stringify(f.servedBy)}`,
      `  logouts ${f.logouts}, lost writes ${f.lostWrites}, cleared cookies ${f.clearedCookies}, 5xx ${f.serverErrors}, other errors ${f.otherErrors}`,
      ...f.problems.slice(0, 20).map((p) => `  ! ${p}`),
    ].join('\n'),
  )
}

/** Runs `deploy` under load on a fleet that starts with three servers of `initial`. */
async function underLoad(
  title: string,
  framework: Framework,
  initial: Phase,
  deploy: (fleet: Fleet, rounds: (n: number) => Promise<void>, notes: string[]) => Promise<void>,
) {
  const fleet = await Fleet.start(framework, initial)
  const started = performance.now()
  const notes: string[] = []
  let load: Awaited<ReturnType<typeof startLoad>>
  try {
    load = await startLoad(fleet.balancer.url)
    try {
      await load.rounds(ROUNDS)
      await deploy(fleet, load.rounds, notes)
    } catch (err) {
      await load.abort()
      throw err
    }
    await load.stop()
  } finally {
    await fleet.stop()
  }
  const f = load.figures
  report(title, fleet, f, performance.now() - started, notes)
  expect(crashes).toEqual([])
  expect(f.problems.slice(0, 20)).toEqual([])
  expect({
    logouts: f.logouts,
    lostWrites: f.lostWrites,
    clearedCookies: f.clearedCookies,
    serverErrors: f.serverErrors,
    otherErrors: f.otherErrors,
  }).toEqual({ logouts: 0, lostWrites: 0, clearedCookies: 0, serverErrors: 0, otherErrors: 0 })
  expect(f.acknowledgedWrites).toBeGreaterThan(USERS * ROUNDS)
  return load
}

/** Replaces the servers `which`, one after the other, with ones running `phase`. */
async function rollTo(fleet: Fleet, phase: Phase, rounds: (n: number) => Promise<void>, which = [0, 1, 2]) {
  for (const index of which) {
    await fleet.replace(index, phase, () => rounds(1))
    await rounds(ROUNDS)
  }
}

const PEERS: Record<Framework, string> = {
  express: 'express-session + connect-redis',
  fastify: '@fastify/session + connect-redis',
}

describe.each(['express', 'fastify'] as const)(
  '%s: connect-redis → @sessionkit/redis (docs/MIGRATION.md)',
  (framework) => {
    const peer = PEERS[framework]

    it(`rolling deploy: ${peer} → sessionkit`, { timeout: 300_000 }, async () => {
      await redisFlush()
      await underLoad(
        `rolling deploy: ${peer} → sessionkit`,
        framework,
        'peer',
        async (fleet, rounds, notes) => {
          await rollTo(fleet, 'keep', rounds)
          // Phase 1 wrote nothing in sessionkit's layout: the peers could still come back.
          const kept = await count()
          notes.push(`after phase 1 (keep): ${JSON.stringify(kept)}`)
          expect(kept).toEqual({ legacy: USERS + IDLE, sessionkit: 0 })
          await rollTo(fleet, 'switch', rounds)
          const started = performance.now()
          const converted = await convertAll()
          notes.push(
            `convert under load: ${JSON.stringify(converted)} in ${(performance.now() - started).toFixed(0)} ms; then ${JSON.stringify(await count())}`,
          )
          expect(converted.converted).toBeGreaterThanOrEqual(IDLE)
          expect((await count()).legacy).toBe(0)
          await rounds(ROUNDS)
          await rollTo(fleet, 'finish', rounds)
        },
      )
      expect(await count()).toEqual({ legacy: 0, sessionkit: USERS + IDLE })
    })

    it(`rollback: sessionkit → ${peer}`, { timeout: 300_000 }, async () => {
      await redisFlush()
      // Users log in on sessionkit servers (phase 1), then the deploy is rolled back to the peer
      // one server at a time, and deployed again.
      await underLoad(`rollback: sessionkit → ${peer}`, framework, 'keep', async (fleet, rounds, notes) => {
        const before = await count()
        notes.push(`before the rollback: ${JSON.stringify(before)}`)
        // What tells the operator a rollback to the peer is safe: nothing in sessionkit's layout.
        expect(before).toEqual({ legacy: USERS + IDLE, sessionkit: 0 })
        await rollTo(fleet, 'peer', rounds)
        await rollTo(fleet, 'keep', rounds)
      })
      expect(await count()).toEqual({ legacy: USERS + IDLE, sessionkit: 0 })
    })

    it(`rollback: sessionkit switch → sessionkit keep (${framework})`, { timeout: 300_000 }, async () => {
      await redisFlush()
      await underLoad(
        `rollback: switch → keep (${framework})`,
        framework,
        'keep',
        async (fleet, rounds, notes) => {
          await rollTo(fleet, 'switch', rounds, [0, 1])
          notes.push(`two servers on switch: ${JSON.stringify(await count())}`)
          await rollTo(fleet, 'keep', rounds, [0, 1])
        },
      )
      // Sessions moved by the switch servers stay in sessionkit's layout; keep servers serve them there.
      expect((await count()).sessionkit).toBeGreaterThan(0)
    })
  },
)

async function redisFlush() {
  const client = new Redis(redis.url)
  await client.flushall()
  client.disconnect()
}
