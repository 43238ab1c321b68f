import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, loadavg, totalmem, type } from 'node:os'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

const packages = [
  'express',
  'express-session',
  'koa',
  'koa-session',
  'fastify',
  '@fastify/session',
  '@fastify/cookie',
  'connect-redis',
  'koa-redis',
  'redis',
  'ioredis',
  'autocannon',
]

export interface Environment {
  date: string
  machine: string
  cpus: number
  loadAverage: number[]
  node: string
  redisServer: string
  versions: Record<string, string>
}

export function environment(): Environment {
  const cpu = cpus()
  return {
    date: new Date().toISOString(),
    machine: `${type()} ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    cpus: cpu.length,
    loadAverage: loadavg().map((n) => Math.round(n * 100) / 100),
    node: process.version,
    redisServer: redisVersion(),
    versions: Object.fromEntries(packages.map((name) => [name, versionOf(name)])),
  }
}

/** From the package's own package.json, found above its entry (some exports hide it). */
function versionOf(name: string): string {
  let dir = dirname(require.resolve(name))
  while (dir !== dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      if (manifest.name === name) return manifest.version
    } catch {}
    dir = dirname(dir)
  }
  return 'unknown'
}

function redisVersion(): string {
  try {
    const out = execFileSync('redis-server', ['--version'], { encoding: 'utf8' })
    return /v=(\S+)/.exec(out)?.[1] ?? out.trim()
  } catch {
    return 'not installed'
  }
}
