import { fork } from 'node:child_process'
import { join } from 'node:path'
import { RedisStore } from '@sessionkit/redis'
import { type RedisServer, startRedis, trackChild } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Balancer, startBalancer } from '../src/balancer'
import { copyKoaRedisSessions } from '../src/koa-redis-copy'
import { Client, type Reply } from './support/client'
import type { Phase } from './support/koa-redis-migration-app'

/**
 * The koa-session + koa-redis path of docs/MIGRATION.md ("keep your store"), run as an
 * operator runs it: real koa-session 7 servers and @sessionkit/koa servers, both with the real
 * koa-redis 4 as `store`, each its own process, behind a round-robin balancer, one Redis;
 * users log in, then read and write in a loop while the servers are replaced one by one (each
 * new server takes traffic before the old one stops, and the old one finishes what it has in
 * flight), forward and back.
 */

const here = import.meta.dirname
const USERS = 12
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

async function startServer(name: string, phase: Phase): Promise<Server> {
  const proc = fork(
    join(here, 'support/koa-redis-migration-app.ts'),
    [JSON.stringify({ name, phase, redisUrl: redis.url })],
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

  constructor(readonly balancer: Balancer) {}

  static async start(phase: Phase, count = 3): Promise<Fleet> {
    const fleet = new Fleet(await startBalancer({ backends: [], mode: 'round-robin' }))
    fleet.servers = await Promise.all(
      Array.from({ length: count }, (_, i) => startServer(`s${i + 1}`, phase)),
    )
    fleet.#route()
    fleet.steps.push(`${count} × ${phase}`)
    return fleet
  }

  /**
   * Server `index` now runs `phase`: the new one takes traffic first, the old one drains (every
   * user finished the request it had in flight, as a load balancer's deregistration delay
   * waits), then it stops.
   */
  async replace(index: number, phase: Phase, drained: () => Promise<void>): Promise<void> {
    const old = this.servers[index]!
    this.servers[index] = await startServer(old.name, phase)
    this.#route()
    await drained()
    await this.#retire(old)
    this.steps.push(`${old.name}: ${old.phase} → ${phase}`)
  }

  #route() {
    this.balancer.setBackends(this.servers.map((s) => ({ name: `${s.name}:${s.phase}`, url: s.url })))
  }

  async #retire(server: Server) {
    await server.stop()
  }

  async stop() {
    await Promise.all(this.servers.map((s) => this.#retire(s)))
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

/** One browser tab of one user: a login, then writes (counter + 1) and reads in turn. */
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
      throw new Error(`login of ${this.name} failed`)
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
   * A second tab of the same browser (same cookies) reading while the first one writes: it
   * sees every write acknowledged before it was sent, and its responses never replace a
   * cookie a write set meanwhile.
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

/** USERS users in a loop until stopped; `rounds(n)` resolves once each made n more requests. */
function emptyFigures(): Figures {
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

async function startLoad(baseUrl: string) {
  const figures = emptyFigures()
  const users = Array.from({ length: USERS }, (_, i) => new User(`user${i + 1}`, baseUrl, figures))
  await Promise.all(users.map((u) => u.login()))
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
      for (const user of users) for (let i = 0; i < 3; i++) await user.step(false)
    },
  }
}

/** Every session koa-redis holds, by key: koa-session's JSON with `_expire` and `_maxAge`. */
async function sessionsInRedis(): Promise<Map<string, Record<string, unknown>>> {
  const client = new Redis(redis.url)
  try {
    const keys = await client.keys('koa:sess:*')
    const values = keys.length ? await client.mget(keys) : []
    return new Map(keys.map((key, i) => [key, JSON.parse(values[i]!) as Record<string, unknown>]))
  } finally {
    client.quit()
  }
}

/** Each user's cookie names a koa-redis record holding that user and their acknowledged count. */
async function expectEveryUserInKoaRedis(users: { name: string; acked: number; client: Client }[]) {
  const sessions = await sessionsInRedis()
  for (const user of users) {
    const key = user.client.jar.get('koa.sess')
    expect(key).toMatch(/^koa:sess:[0-9a-f-]{36}$/)
    expect(sessions.get(key!)).toMatchObject({ user: user.name, counter: user.acked, _maxAge: 30 * 60_000 })
  }
}

function report(title: string, fleet: Fleet, f: Figures, ms: number) {
  console.log(
    [
      `${title} (${USERS} users, ${(ms / 1000).toFixed(1)} s)`,
      `  steps: ${fleet.steps.join('; ')}`,
      `  requests ${f.requests} (a writing tab and a reading tab per user), acknowledged writes ${f.acknowledgedWrites}, served by ${JSON.stringify(f.servedBy)}`,
      `  logouts ${f.logouts}, lost writes ${f.lostWrites}, cleared cookies ${f.clearedCookies}, 5xx ${f.serverErrors}, other errors ${f.otherErrors}`,
      ...f.problems.slice(0, 20).map((p) => `  ! ${p}`),
    ].join('\n'),
  )
}

function expectZeros(f: Figures) {
  expect(f.problems.slice(0, 20)).toEqual([])
  expect({
    logouts: f.logouts,
    lostWrites: f.lostWrites,
    clearedCookies: f.clearedCookies,
    serverErrors: f.serverErrors,
    otherErrors: f.otherErrors,
  }).toEqual({ logouts: 0, lostWrites: 0, clearedCookies: 0, serverErrors: 0, otherErrors: 0 })
}

/** Runs `deploy` under load on a fleet that starts with three servers of `initial`. */
async function underLoad(
  title: string,
  initial: Phase,
  deploy: (fleet: Fleet, rounds: (n: number) => Promise<void>) => Promise<void>,
) {
  const fleet = await Fleet.start(initial)
  const started = performance.now()
  let load: Awaited<ReturnType<typeof startLoad>>
  try {
    load = await startLoad(fleet.balancer.url)
    try {
      await load.rounds(ROUNDS)
      await deploy(fleet, load.rounds)
    } catch (err) {
      await load.abort()
      throw err
    }
    await load.stop()
  } finally {
    await fleet.stop()
  }
  report(title, fleet, load.figures, performance.now() - started)
  expect(crashes).toEqual([])
  expectZeros(load.figures)
  expect(load.figures.acknowledgedWrites).toBeGreaterThan(USERS * ROUNDS)
  return { load }
}

/** Replaces every server, one after the other, with one running `phase`. */
async function rollTo(fleet: Fleet, phase: Phase, rounds: (n: number) => Promise<void>, which = [0, 1, 2]) {
  for (const index of which) {
    await fleet.replace(index, phase, () => rounds(1))
    await rounds(ROUNDS)
  }
}

describe('koa-session + koa-redis → @sessionkit/koa keeping koa-redis (docs/MIGRATION.md)', () => {
  it('rolling deploy: koa-session + koa-redis → sessionkit', { timeout: 300_000 }, async () => {
    const { load } = await underLoad(
      'rolling deploy: koa-session + koa-redis → sessionkit',
      'koa-session',
      async (fleet, rounds) => {
        await rollTo(fleet, 'sessionkit', rounds)
      },
    )
    // The store's contents are koa-redis records all along: koa-session servers can come back.
    await expectEveryUserInKoaRedis(load.users)
  })

  it('rollback: sessionkit → koa-session + koa-redis', { timeout: 300_000 }, async () => {
    const { load } = await underLoad(
      'rollback: sessionkit → koa-session + koa-redis',
      'sessionkit',
      async (fleet, rounds) => {
        await rollTo(fleet, 'koa-session', rounds)
      },
    )
    await expectEveryUserInKoaRedis(load.users)
  })

  it('leaving koa-redis: bulk copy, then @sessionkit/koa on RedisStore', { timeout: 300_000 }, async () => {
    const client = new Redis(redis.url)
    const balancer = await startBalancer({ backends: [], mode: 'round-robin' })
    try {
      await client.flushall()
      const figures = emptyFigures()
      let server = await startServer('s1', 'sessionkit')
      balancer.setBackends([{ name: 's1:sessionkit', url: server.url }])
      const users = Array.from({ length: USERS }, (_, i) => new User(`user${i + 1}`, balancer.url, figures))
      for (const user of users) {
        await user.login()
        for (let i = 0; i < 3; i++) await user.step(true)
      }
      // The cutover: the last koa-redis server has stopped, nothing writes koa-redis records now.
      await server.stop()
      const target = new RedisStore({ client })
      const cursors: string[] = []
      const report = await copyKoaRedisSessions({
        client,
        target,
        batch: 5,
        onProgress: (p) => cursors.push(p.cursor),
      })
      expect(report).toEqual({ copied: USERS, alreadyThere: 0, expired: 0, unreadable: 0, cursor: '0' })
      // Several SCAN calls: a run stopped midway resumes from the last cursor it reported.
      expect(cursors.length).toBeGreaterThan(1)
      expect(await copyKoaRedisSessions({ client, target })).toMatchObject({ copied: 0, alreadyThere: USERS })

      server = await startServer('s1', 'redis-store')
      balancer.setBackends([{ name: 's1:redis-store', url: server.url }])
      for (const user of users) {
        await user.step(false)
        await user.step(true)
      }
      await server.stop()
      expectZeros(figures)
      expect(crashes).toEqual([])
      expect(figures.acknowledgedWrites).toBe(USERS * 4)
    } finally {
      await balancer.close()
      client.disconnect()
    }
  })
})
