import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from './resp'
import { freePort, type ManagedProcess, trackChild } from './server'

/** One PostgreSQL server (`postgres` in a fresh `initdb` cluster), a child of the test process. */
export interface PostgresServer extends ManagedProcess {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication on loopback). */
  readonly url: string
  readonly user: string
  readonly database: string
  /** Directory of the server's unix socket (inside the temp directory). */
  readonly socketDir: string
  /** The temp directory (data directory and socket), removed by `stop()`; `restart()` reuses it. */
  readonly dir: string
  /**
   * Runs SQL through the server's own `psql` (no client library needed), as the superuser;
   * resolves with psql's unaligned, tuples-only output.
   */
  sql(text: string): Promise<string>
}

export interface StartPostgresOptions {
  /** Extra `-c name=value` settings, e.g. `{ max_connections: '20' }`. */
  settings?: Record<string, string>
}

export const POSTGRES_INSTALL_HINT =
  'PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin); install it with: apt-get install -y postgresql'

/** The newest Debian PostgreSQL's bin directory, or undefined. */
function findBinDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin')
}

let binDir: string | undefined

/** Throws with the install command when PostgreSQL's binaries are missing: tests fail, never skip. */
export function assertPostgresInstalled(): string {
  binDir ??= findBinDir()
  if (!binDir) throw new Error(POSTGRES_INSTALL_HINT)
  return binDir
}

/**
 * PostgreSQL refuses to run as root: as root, the server runs as the `postgres` system user
 * (which Debian's package creates), else as whoever runs the tests.
 */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'))
  if (!line) throw new Error(`running as root and there is no postgres user; ${POSTGRES_INSTALL_HINT}`)
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

/**
 * Settings for speed over durability: no fsync (a test server's data is thrown away). Commits
 * still reach the WAL before they answer (synchronous_commit stays on), so data survives
 * `kill()` + `restart()` like a crash of a real server, just not a crash of the machine.
 */
const FAST_SETTINGS: Record<string, string> = {
  fsync: 'off',
  full_page_writes: 'off',
  max_connections: '200',
  shared_buffers: '32MB',
  max_wal_size: '1GB',
  checkpoint_timeout: '30min',
  autovacuum: 'off',
  log_min_messages: 'warning',
  logging_collector: 'off',
  jit: 'off',
}

class PortInUse extends Error {}

/**
 * Directories of servers not yet stopped: removed when the test process exits, so a test file
 * that fails before its `stop()` (during setup) leaves no data directory behind.
 */
const liveDirs = new Set<string>()
let dirHookInstalled = false

function removeAtExit(dir: string): void {
  liveDirs.add(dir)
  if (dirHookInstalled) return
  dirHookInstalled = true
  process.once('exit', () => {
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true })
  })
}

/**
 * `initdb` into a temp directory, then `postgres` on a free loopback port (never 5432, never a
 * server the machine runs) with its socket in that directory and durability off. Resolves once
 * `pg_isready` says it accepts connections.
 *
 * @example
 * ```ts
 * const server = await startPostgres()
 * const pool = new Pool({ connectionString: server.url })
 * afterAll(async () => { await pool.end(); await server.stop() })
 * ```
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = assertPostgresInstalled()
  const owner = serverUser()
  const dir = mkdtempSync(join(tmpdir(), 'sessionkit-postgres-'))
  removeAtExit(dir)
  const data = join(dir, 'data')
  const socketDir = join(dir, 'socket')
  try {
    mkdirSync(socketDir)
    if (owner) {
      chownSync(dir, owner.uid, owner.gid)
      chownSync(socketDir, owner.uid, owner.gid)
    }
    const init = spawnSync(
      join(bin, 'initdb'),
      [
        '-D',
        data,
        '-U',
        'postgres',
        '--auth=trust',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      { encoding: 'utf8', cwd: dir, ...owner },
    )
    if (init.error || init.status !== 0) {
      throw new Error(`initdb failed: ${init.error?.message ?? ''}${init.stderr}${init.stdout}`)
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    if (port === 5432) continue
    try {
      return await startOn(port, bin, dir, socketDir, owner, options)
    } catch (err) {
      if (attempt >= 5 || !(err instanceof PortInUse)) {
        rmSync(dir, { recursive: true, force: true })
        throw err
      }
    }
  }
}

async function startOn(
  port: number,
  bin: string,
  dir: string,
  socketDir: string,
  owner: { uid: number; gid: number } | undefined,
  options: StartPostgresOptions,
): Promise<PostgresServer> {
  const settings = { ...FAST_SETTINGS, ...options.settings }
  const argv = [
    '-D',
    join(dir, 'data'),
    '-p',
    String(port),
    '-k',
    socketDir,
    '-c',
    'listen_addresses=127.0.0.1',
    ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ]

  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let output = ''
  let stopped = false

  const isReady = () => {
    const probe = spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-t', '1'], {
      encoding: 'utf8',
    })
    return probe.status === 0
  }

  const launch = async () => {
    output = ''
    const proc = spawn(join(bin, 'postgres'), argv, {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...owner,
    })
    child = proc
    trackChild(proc)
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000)
    }
    proc.stdout?.on('data', keep)
    proc.stderr?.on('data', keep)
    let hasExited = false
    exited = new Promise((resolve) => {
      proc.once('exit', () => {
        hasExited = true
        if (child === proc) child = undefined
        resolve()
      })
    })
    try {
      await waitFor(
        `postgres on port ${port} to accept connections`,
        async () => {
          if (hasExited) {
            if (/address already in use|could not bind/i.test(output)) throw new PortInUse(output)
            throw new Error(`postgres exited during startup:\n${output}`)
          }
          return /ready to accept connections/.test(output) && isReady()
        },
        30_000,
        25,
      )
    } catch (err) {
      signalAll(proc, 'SIGKILL')
      await exited
      if (/address already in use|could not bind/i.test(output)) throw new PortInUse(output)
      throw err
    }
  }

  /**
   * Default SIGQUIT to the postmaster: PostgreSQL's immediate shutdown, as abrupt as a crash
   * (no checkpoint; the next start runs recovery) but the postmaster reaps its backends, which
   * a SIGKILL of the group would leave as zombies nobody reaps on these machines.
   */
  const kill = async (signal: NodeJS.Signals = 'SIGQUIT') => {
    const proc = child
    if (!proc?.pid) return
    const backends = childPids(proc.pid)
    signalAll(proc, 'SIGCONT')
    if (signal === 'SIGKILL') signalAll(proc, signal)
    else proc.kill(signal)
    await exited
    // Until no backend holds the data directory's shared memory, a new postmaster refuses to start.
    await waitFor('postgres backends to exit', async () => allGone(backends), 10_000, 10)
  }

  await launch()

  const user = 'postgres'
  const database = 'postgres'
  return {
    host: '127.0.0.1',
    port,
    url: `postgres://${user}@127.0.0.1:${port}/${database}`,
    user,
    database,
    socketDir,
    dir,
    get running() {
      return child !== undefined
    },
    get pid() {
      return child?.pid
    },
    kill,
    pause: async () => {
      const proc = child
      if (!proc?.pid) return
      signalAll(proc, 'SIGSTOP')
      await waitFor(
        `postgres ${proc.pid} and its backends to stop`,
        async () => allStopped(proc.pid!),
        5_000,
        5,
      )
    },
    resume: () => {
      if (child) signalAll(child, 'SIGCONT')
    },
    restart: async () => {
      if (stopped) throw new Error(`postgres on port ${port} was stopped; start a new one`)
      await kill()
      await launch()
    },
    stop: async () => {
      if (stopped) return
      stopped = true
      await kill()
      rmSync(dir, { recursive: true, force: true })
      liveDirs.delete(dir)
    },
    sql: (text: string) =>
      new Promise((resolve, reject) => {
        const psql = spawn(
          join(bin, 'psql'),
          [
            '-h',
            '127.0.0.1',
            '-p',
            String(port),
            '-U',
            user,
            '-d',
            database,
            '-X',
            '-A',
            '-t',
            '-v',
            'ON_ERROR_STOP=1',
          ],
          { stdio: ['pipe', 'pipe', 'pipe'] },
        )
        let out = ''
        let err = ''
        psql.stdout.on('data', (c: Buffer) => {
          out += c.toString()
        })
        psql.stderr.on('data', (c: Buffer) => {
          err += c.toString()
        })
        psql.once('error', reject)
        psql.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`psql: ${err}`))))
        psql.stdin.end(text)
      }),
  }
}

/**
 * Signals the postmaster and each of its children. Not a process group: every PostgreSQL
 * backend calls setsid() and leads a group of its own, so `kill(-pid)` would miss them.
 * SIGSTOP goes to the postmaster first (it forks no new backend while stopped), SIGCONT last.
 */
function signalAll(proc: ChildProcess, signal: NodeJS.Signals): void {
  const pid = proc.pid
  if (pid === undefined) return
  const children = childPids(pid)
  const send = (p: number) => {
    try {
      process.kill(p, signal)
    } catch {
      // gone already
    }
  }
  if (signal === 'SIGCONT') {
    for (const p of children) send(p)
    send(pid)
  } else {
    send(pid)
    for (const p of children) send(p)
  }
}

interface ProcState {
  pid: number
  ppid: number
  state: string
}

function processes(): ProcState[] {
  const found: ProcState[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue
    }
    // Fields after the command name (in parentheses, may hold spaces): state ppid pgrp ...
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    found.push({ pid: Number(entry), ppid: Number(rest[1]), state: rest[0] ?? '' })
  }
  return found
}

function childPids(pid: number): number[] {
  return processes()
    .filter((p) => p.ppid === pid)
    .map((p) => p.pid)
}

/** True when none of `pids` is still running (exited, or a zombie). */
function allGone(pids: readonly number[]): boolean {
  const alive = new Set(
    processes()
      .filter((p) => p.state !== 'Z' && p.state !== 'X')
      .map((p) => p.pid),
  )
  return pids.every((p) => !alive.has(p))
}

/** True when the postmaster and every child of it are stopped. */
function allStopped(pid: number): boolean {
  return processes()
    .filter((p) => p.pid === pid || p.ppid === pid)
    .every((p) => p.state === 'T' || p.state === 't' || p.state === 'Z')
}
