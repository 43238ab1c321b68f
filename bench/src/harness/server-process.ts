import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import type { ServerConfig } from '../matrix'

const entry = fileURLToPath(new URL('../server.ts', import.meta.url))

export interface ServerProcess {
  port: number
  statsPort: number
  pid: number
  stop(): Promise<void>
}

/**
 * Starts one server in its own process, with workspace packages read from their sources
 * (the `@sessionkit/source` condition, as the tests do), or with `BENCH_BUILT=1` from their
 * built `dist/` (what users run; `pnpm build` first). `profileDir` turns on `--cpu-prof`.
 */
export async function startServer(config: ServerConfig, profileDir?: string): Promise<ServerProcess> {
  const flags = process.env.BENCH_BUILT === '1' ? [] : ['--conditions=@sessionkit/source']
  flags.push('--import', 'tsx')
  if (profileDir) flags.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`)
  const child = spawn(process.execPath, [...flags, entry, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk) => {
    stderr += chunk
  })
  const ready = await firstLine(child)
  if (!ready) {
    const code = child.exitCode ?? (await once(child, 'exit'))[0]
    throw new Error(`${config.framework}/${config.variant} server exited (${code}): ${stderr.trim()}`)
  }
  const { port, statsPort } = JSON.parse(ready) as { port: number; statsPort: number }
  return {
    port,
    statsPort,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    },
  }
}

function firstLine(child: ChildProcess): Promise<string | undefined> {
  return new Promise((resolve) => {
    let out = ''
    const onData = (chunk: Buffer) => {
      out += chunk
      const eol = out.indexOf('\n')
      if (eol >= 0) {
        child.stdout!.off('data', onData)
        resolve(out.slice(0, eol))
      }
    }
    child.stdout!.on('data', onData)
    child.once('exit', () => resolve(undefined))
  })
}
