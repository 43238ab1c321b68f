/**
 * `node --import tsx src/tools/inject-micro.ts [frameworks] [workloads] [requests] [variants]` (add
 * `--conditions=@sessionkit/source` to run the packages' sources instead of their builds):
 * each app's CPU cost per request in one process, with no sockets, through light-my-request,
 * one request at a time. Cells of one framework and workload run in turns (bare, peer, ours,
 * bare, …) and the median turn is kept, so machine noise hits them alike. A quick and much
 * less noisy check of a hot-path change than the HTTP matrix, which stays the measure.
 */
import type { RequestListener } from 'node:http'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import inject from 'light-my-request'
import { expressApp } from '../apps/express'
import { fastifyApp } from '../apps/fastify'
import { koaApp } from '../apps/koa'
import type { Framework, ServerConfig, Variant } from '../matrix'

type Send = (url: string, cookie?: string) => Promise<{ cookie: string | undefined; body: string }>

const [
  frameworkArg = 'express,koa,fastify',
  workloadArg = 'read,new,write',
  countArg = '3000',
  variantArg = 'bare,peer-memory,ours-memory',
] = process.argv.slice(2)
const frameworks = frameworkArg.split(',') as Framework[]
const workloads = workloadArg.split(',')
const requests = Number(countArg)
const variants = variantArg.split(',') as Variant[]
const turns = 7
// Requests in flight at once (INJECT_CONCURRENCY), as the matrix keeps 50 connections busy.
const concurrency = Number(process.env.INJECT_CONCURRENCY ?? 1)

async function batch(send: Send, url: string, cookie: string | undefined, count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += concurrency) {
    const wave = Math.min(concurrency, count - sent)
    if (wave === 1) await send(url, cookie)
    else await Promise.all(Array.from({ length: wave }, () => send(url, cookie)))
  }
}

// Redis variants share one redis-server, started only when asked for.
let redis: RedisServer | undefined

async function client(framework: Framework, variant: Variant): Promise<Send> {
  if (variant.includes('redis')) redis ??= await startRedis()
  const config: ServerConfig = { framework, variant, redisUrl: redis?.url }
  const cookieOf = (header: unknown) => {
    const lines = (Array.isArray(header) ? header : header ? [header] : []) as string[]
    return lines.length ? lines.map((line) => line.split(';')[0]).join('; ') : undefined
  }
  if (framework === 'fastify') {
    const app = await fastifyApp(config)
    await app.ready()
    return async (url, cookie) => {
      const res = await app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} })
      return { cookie: cookieOf(res.headers['set-cookie']), body: res.body }
    }
  }
  const listener: RequestListener =
    framework === 'express' ? await expressApp(config) : (await koaApp(config)).callback()
  return async (url, cookie) => {
    const res = await inject(listener, { method: 'GET', url, headers: cookie ? { cookie } : {} })
    return { cookie: cookieOf(res.headers['set-cookie']), body: res.body }
  }
}

const path = { read: '/read', new: '/new', write: '/write' } as Record<string, string>

for (const framework of frameworks) {
  for (const workload of workloads) {
    const cells = await Promise.all(
      variants.map(async (variant) => {
        const send = await client(framework, variant)
        const cookie =
          workload === 'new' || variant === 'bare' ? undefined : (await send('/setup/small')).cookie
        return { variant, send, cookie, micros: [] as number[] }
      }),
    )
    for (let turn = 0; turn < turns; turn++) {
      for (const cell of cells) {
        const url = path[workload]!
        await batch(cell.send, url, cell.cookie, requests / 10) // warm
        const started = process.cpuUsage()
        await batch(cell.send, url, cell.cookie, requests)
        const used = process.cpuUsage(started)
        cell.micros.push((used.user + used.system) / requests)
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const cost = new Map(cells.map((cell) => [cell.variant, median(cell.micros)]))
    const bare = cost.get('bare')
    const added = (variant: Variant) => {
      const micros = cost.get(variant)
      return micros === undefined || bare === undefined ? undefined : micros - bare
    }
    const peer = added('peer-memory') ?? added('peer-redis')
    const ours = added('ours-memory') ?? added('ours-redis')
    const parts = [...cost].map(([variant, micros]) => `${variant} ${micros.toFixed(1)} µs`)
    if (peer !== undefined && ours !== undefined)
      parts.push(
        `added: peer ${peer.toFixed(1)}, ours ${ours.toFixed(1)}, ours/peer ${(ours / peer).toFixed(2)}`,
      )
    console.log(`${framework.padEnd(8)} ${workload.padEnd(6)} ${parts.join(' · ')}`)
  }
}
await redis?.stop()
process.exit(0) // the apps' Redis clients stay connected
