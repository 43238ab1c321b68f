import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { command, waitFor } from './resp'

/** A server process the tests start as their child, and the faults they can inject into it. */
export interface ManagedProcess {
  readonly host: string
  readonly port: number
  /** False after `kill()` or `stop()` until `restart()`. */
  readonly running: boolean
  readonly pid: number | undefined
  /** Kills the process (default SIGKILL, no chance to save or hand over) and waits for its exit. */
  kill(signal?: NodeJS.Signals): Promise<void>
  /**
   * SIGSTOP: the port stays open but nothing answers, like a hung host. Resolves once every
   * thread is stopped: the signal is delivered asynchronously, and a request sent in between
   * would still be answered.
   */
  pause(): Promise<void>
  /** SIGCONT after `pause()`. */
  resume(): void
  /** Starts the process again on the same port and waits until it answers. */
  restart(): Promise<void>
  /** Kills the process and removes its directory. Idempotent. */
  stop(): Promise<void>
}

/** One redis-server (or sentinel) process, a child of the test process. */
export interface RedisServer extends ManagedProcess {
  /** Cluster bus port, 0 when not a cluster node. */
  readonly busPort: number
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** Working directory under os.tmpdir(), removed by `stop()`; `restart()` reuses it. */
  readonly dir: string
}

export interface SpawnOptions {
  /** Extra arguments after the common ones (`--save '' --appendonly no` ...). */
  args?: (port: number, busPort: number) => string[]
  /** Also reserve a second free port (a cluster bus port) and pass it to `args`. */
  busPort?: boolean
  /** Builds a config file argument list instead (sentinel): gets port and directory. */
  sentinelConfig?: (port: number, dir: string) => string
  /** Name used in the temp directory and error messages. */
  label?: string
}

const INSTALL_HINT = 'redis-server is not installed; install it with: apt-get install -y redis-server'
const live = new Set<ChildProcess>()
let binaryChecked = false

/** Throws with the install command when redis-server is missing: tests fail, never skip. */
export function assertRedisInstalled(): void {
  if (binaryChecked) return
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) {
    throw new Error(`${INSTALL_HINT} (${probe.error?.message ?? probe.stderr})`)
  }
  binaryChecked = true
  installExitHooks()
}

/** A port nobody listens on right now; the caller retries if it loses the race to bind it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => {
        if (addr && typeof addr === 'object' && addr.port !== 6379) resolve(addr.port)
        else freePort().then(resolve, reject)
      })
    })
  })
}

/**
 * Starts redis-server on a free loopback port and resolves once it answers PING.
 * Persistence is off so start and stop are instant.
 */
export async function spawnServer(options: SpawnOptions = {}): Promise<RedisServer> {
  assertRedisInstalled()
  const label = options.label ?? 'redis'
  const dir = mkdtempSync(join(tmpdir(), `sessionkit-${label}-`))
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    let busPort = 0
    while (options.busPort && (busPort === 0 || busPort === port)) busPort = await freePort()
    try {
      return await startOn(port, busPort, dir, options, label)
    } catch (err) {
      if (attempt >= 5 || !(err instanceof PortInUse)) {
        rmSync(dir, { recursive: true, force: true })
        throw err
      }
    }
  }
}

class PortInUse extends Error {}

async function startOn(port: number, busPort: number, dir: string, options: SpawnOptions, label: string) {
  const argv = (): string[] => {
    if (options.sentinelConfig) return [options.sentinelConfig(port, dir), '--sentinel']
    return [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--logfile',
      '',
      '--daemonize',
      'no',
      ...(options.args?.(port, busPort) ?? []),
    ]
  }

  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let output = ''
  let stopped = false

  const launch = async () => {
    output = ''
    const proc = spawn('redis-server', argv(), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    child = proc
    live.add(proc)
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000)
    }
    proc.stdout?.on('data', keep)
    proc.stderr?.on('data', keep)
    let hasExited = false
    exited = new Promise((resolve) => {
      proc.once('exit', () => {
        hasExited = true
        live.delete(proc)
        if (child === proc) child = undefined
        resolve()
      })
    })
    try {
      await waitFor(`${label} on port ${port} to answer PING`, async () => {
        if (hasExited) {
          if (/address already in use/i.test(output)) throw new PortInUse(output)
          throw new Error(`${label} exited during startup:\n${output}`)
        }
        const reply = await command(port, ['PING'], 500).catch(() => undefined)
        return reply === 'PONG'
      })
    } catch (err) {
      proc.kill('SIGKILL')
      await exited
      if (/address already in use/i.test(output)) throw new PortInUse(output)
      throw err
    }
  }

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const proc = child
    if (!proc) return
    // A stopped process only acts on SIGKILL; continue it so other signals take effect.
    if (signal !== 'SIGKILL') proc.kill('SIGCONT')
    proc.kill(signal)
    await exited
  }

  await launch()

  const server: RedisServer = {
    host: '127.0.0.1',
    port,
    busPort,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return child !== undefined
    },
    get pid() {
      return child?.pid
    },
    kill,
    pause: async () => {
      if (child) await stopProcess(child)
    },
    resume: () => {
      child?.kill('SIGCONT')
    },
    restart: async () => {
      if (stopped) throw new Error(`${label} on port ${port} was stopped; start a new one`)
      await kill()
      await launch()
    },
    stop: async () => {
      if (stopped) return
      stopped = true
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return server
}

/**
 * Registers a child process of another kind of server (DynamoDB Local) so it is killed with
 * the redis ones when the test process exits.
 */
export function trackChild(proc: ChildProcess): void {
  installExitHooks()
  live.add(proc)
  proc.once('exit', () => live.delete(proc))
}

let hooksInstalled = false

/** Children must not outlive the test process: a killed orphan is never reaped on these machines. */
function installExitHooks(): void {
  if (hooksInstalled) return
  hooksInstalled = true
  const killAll = () => {
    for (const proc of live) proc.kill('SIGKILL')
    live.clear()
  }
  process.once('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAll()
      process.removeListener(signal, onSignal)
      process.kill(process.pid, signal)
    }
    process.on(signal, onSignal)
  }
}

/**
 * SIGSTOP, resolved once every thread of the process is stopped: the signal is delivered
 * asynchronously, and a request sent in between would still be answered.
 */
export async function stopProcess(proc: ChildProcess): Promise<void> {
  const pid = proc.pid
  if (pid === undefined) return
  proc.kill('SIGSTOP')
  await waitFor(`process ${pid} to stop`, () => allThreadsStopped(pid), 5_000, 5)
}

/** True when every thread of `pid` is in state T (stopped), read from /proc. */
async function allThreadsStopped(pid: number): Promise<boolean> {
  const tasks = await readdir(`/proc/${pid}/task`)
  for (const task of tasks) {
    const stat = await readFile(`/proc/${pid}/task/${task}/stat`, 'utf8').catch(() => '')
    // The state letter follows the command name, which is in parentheses and may hold spaces.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    if (state !== 'T' && state !== 't' && stat !== '') return false
  }
  return true
}
