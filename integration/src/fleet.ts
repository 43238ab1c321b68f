import { type ChildProcess, fork } from 'node:child_process'
import { join } from 'node:path'
import type { SessionStore } from '@sessionkit/core'
import { FRAMEWORKS, type Framework, type RunningApp } from './apps/index'
import type { BalancerBackend } from './balancer'
import { openStore, type StoreSpec } from './stores'

export interface InstanceSpec {
  name: string
  framework: Framework
}

/** One app instance that can be killed (as a crash would) and brought back on the same port. */
export interface Instance extends InstanceSpec {
  readonly url: string
  readonly alive: boolean
  kill(): Promise<void>
  revive(): Promise<void>
}

export interface Fleet {
  instances: Instance[]
  instance(name: string): Instance
  /** Every instance, alive or not: the balancer finds the dead ones refusing connections. */
  backends(): BalancerBackend[]
  stop(): Promise<void>
}

const here = import.meta.dirname
const STARTUP_BOUND_MS = 60_000

/**
 * Each instance in its own Node process (`tsx`, workspace sources), opening its own store
 * client from `store`: what several servers behind a balancer are. Processes are children
 * of this one and exit with it.
 */
export async function startProcessFleet(
  specs: InstanceSpec[],
  store: StoreSpec,
  options: { log?: (line: string) => void } = {},
): Promise<Fleet> {
  const instances = await Promise.all(specs.map((spec) => processInstance(spec, store, options.log)))
  return fleetOf(instances)
}

/**
 * Every instance in this process: with `store` given they share that one store object (the
 * embedded demo's shared memory store); without, each gets its own MemoryStore.
 */
export async function startInProcessFleet(specs: InstanceSpec[], store?: SessionStore): Promise<Fleet> {
  const instances = await Promise.all(specs.map((spec) => inProcessInstance(spec, store)))
  return fleetOf(instances)
}

function fleetOf(instances: Instance[]): Fleet {
  return {
    instances,
    instance: (name) => {
      const found = instances.find((i) => i.name === name)
      if (!found) throw new Error(`no instance named ${name}`)
      return found
    },
    backends: () => instances.map((i) => ({ name: i.name, url: i.url })),
    stop: async () => {
      await Promise.all(instances.map((i) => i.kill()))
    },
  }
}

async function inProcessInstance(spec: InstanceSpec, shared: SessionStore | undefined): Promise<Instance> {
  let port = 0
  let app: RunningApp | undefined
  let own: { close(): Promise<void> } | undefined
  const start = async () => {
    let store = shared
    if (!store) {
      const opened = await openStore({ kind: 'memory' })
      store = opened.store
      own = opened
    }
    app = await FRAMEWORKS[spec.framework].start({ name: spec.name, store, port })
    port = app.port
  }
  await start()
  return {
    ...spec,
    url: `http://127.0.0.1:${port}`,
    get alive() {
      return app !== undefined
    },
    kill: async () => {
      const running = app
      app = undefined
      await running?.close()
      // A crashed server's memory is gone with it.
      await own?.close()
      own = undefined
    },
    revive: async () => {
      if (!app) await start()
    },
  }
}

async function processInstance(
  spec: InstanceSpec,
  store: StoreSpec,
  log: ((line: string) => void) | undefined,
): Promise<Instance> {
  let port = 0
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()

  const start = async () => {
    const proc = fork(join(here, 'instance-main.ts'), [JSON.stringify({ ...spec, port, store })], {
      cwd: join(here, '..'),
      execArgv: ['--conditions=@sessionkit/source', '--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    child = proc
    let output = ''
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000)
      if (log) for (const line of chunk.toString().split('\n').filter(Boolean)) log(`[${spec.name}] ${line}`)
    }
    proc.stdout?.on('data', keep)
    proc.stderr?.on('data', keep)
    exited = new Promise((resolve) => proc.once('exit', () => resolve()))
    const ready = await new Promise<{ port: number }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${spec.name} not ready within ${STARTUP_BOUND_MS} ms`)),
        STARTUP_BOUND_MS,
      )
      proc.once('message', (message: { port: number }) => {
        clearTimeout(timer)
        resolve(message)
      })
      proc.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${spec.name} exited during startup (code ${code}):\n${output}`))
      })
    })
    port = ready.port
  }

  await start()
  return {
    ...spec,
    url: `http://127.0.0.1:${port}`,
    get alive() {
      return child !== undefined
    },
    kill: async () => {
      const proc = child
      if (!proc) return
      child = undefined
      proc.kill('SIGKILL')
      await exited
    },
    revive: async () => {
      if (!child) await start()
    },
  }
}
