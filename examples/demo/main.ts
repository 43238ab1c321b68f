/**
 * `pnpm demo`: three app instances (Express, Koa, Fastify) behind one load balancer, and a page
 * to see what happens to a session as requests hop between them, in three setups:
 * - memory per server: round-robin, each instance its own memory store (the seed's default);
 * - sticky: the balancer pins each client to one instance, still memory per server;
 * - shared: round-robin over one shared store.
 * Embedded (default): the instances run in this process and "shared" is one memory store
 * they share. `--store redis://…` (or `dynamodb://…`, `postgres://…`) runs each instance as its
 * own process on that store.
 */
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { availableFrameworks, type Framework } from '@sessionkit/integration/apps/index'
import { type BalancerLogEntry, startBalancer } from '@sessionkit/integration/balancer'
import {
  type Fleet,
  type InstanceSpec,
  startInProcessFleet,
  startProcessFleet,
} from '@sessionkit/integration/fleet'
import { ensureDynamoDBTable, ensurePostgresSchema, openStore } from '@sessionkit/integration/stores'
import { parseOptions } from './options'

type Mode = 'memory' | 'sticky' | 'shared'
const MODES: Mode[] = ['memory', 'sticky', 'shared']

const options = parseOptions(process.argv.slice(2))
const page = readFileSync(join(import.meta.dirname, 'page.html'), 'utf8')
const specs = await instanceSpecs()
const storeLabel = options.store
  ? `${options.store.kind} (${describeStore()}), each instance its own process`
  : 'embedded: the three instances run in this one process, and "shared store" is one in-memory store they share (a stand-in for Redis)'
let shared = options.store ? undefined : await openStore({ kind: 'memory' })

if (options.store?.kind === 'dynamodb') await ensureDynamoDBTable(options.store)
// The store never creates its table by itself; the demo asks, as one would for a dev database
// (CREATE … IF NOT EXISTS: an existing table and its sessions are kept).
if (options.store?.kind === 'postgres') {
  console.log(`creating the session table in ${redactedUrl(options.store.url)} if it is missing`)
  await ensurePostgresSchema(options.store)
}

let mode: Mode = 'shared'
let fleet: Fleet = await startFleet(mode)
const balancer = await startBalancer({
  backends: fleet.backends(),
  port: options.port,
  onRequest: logLine,
  intercept: control,
}).catch((err: NodeJS.ErrnoException) => {
  if (err.code !== 'EADDRINUSE') throw err
  console.error(`port ${options.port} is taken; pick another: pnpm demo --port ${options.port + 1}`)
  process.exit(1)
})
console.log(`sessionkit demo: ${balancer.url}  (store: ${storeLabel})`)
console.log('one line per request: instance, session id prefix, counter. Ctrl-C stops.')

/** Express, Koa, Fastify; a second Express stands in while the Koa binding is not there. */
async function instanceSpecs(): Promise<InstanceSpec[]> {
  const available = await availableFrameworks()
  const wanted: Framework[] = ['express', 'koa', 'fastify']
  return wanted.map((framework) =>
    available.includes(framework)
      ? { name: framework, framework }
      : { name: `express-2 (no ${framework} yet)`, framework: 'express' },
  )
}

function describeStore(): string {
  const store = options.store!
  switch (store.kind) {
    case 'redis':
      return store.url
    case 'dynamodb':
      return `${store.endpoint} table ${store.tableName}`
    case 'postgres':
      return `${redactedUrl(store.url)} table sessionkit_sessions`
    default:
      return ''
  }
}

/** The URL without its password: the page and the log show it. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@')
  }
}

async function startFleet(m: Mode): Promise<Fleet> {
  const perServer = m !== 'shared'
  if (!options.store) return startInProcessFleet(specs, perServer ? undefined : shared!.store)
  return startProcessFleet(specs, perServer ? { kind: 'memory' } : options.store, { log: console.log })
}

function logLine(e: BalancerLogEntry) {
  if (!e.path.startsWith('/api/')) return
  const time = new Date().toISOString().slice(11, 23)
  console.log(
    `${time} ${e.method.padEnd(4)} ${e.path.padEnd(24)} → ${(e.backend ?? '(none)').padEnd(8)} ${e.status}` +
      `  session ${e.session ?? '-'}  counter ${e.counter ?? '-'}  ${e.ms.toFixed(0)} ms`,
  )
}

/** The page and its controls; everything else goes to the instances. */
async function control(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://demo')
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    return true
  }
  if (req.method === 'GET' && url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page)
    return true
  }
  if (!url.pathname.startsWith('/demo/')) return false
  const name = url.searchParams.get('name') ?? ''
  switch (`${req.method} ${url.pathname}`) {
    case 'GET /demo/state':
      return json(200, state())
    case 'POST /demo/mode': {
      const next = url.searchParams.get('mode') as Mode
      if (!MODES.includes(next)) return json(400, { error: `mode is one of ${MODES.join(', ')}` })
      await fleet.stop()
      // Each visit to "shared" starts from an empty store, as the memory modes start empty.
      if (shared && next === 'shared') {
        await shared.close()
        shared = await openStore({ kind: 'memory' })
      }
      mode = next
      fleet = await startFleet(mode)
      balancer.setBackends(fleet.backends())
      balancer.mode = mode === 'sticky' ? 'sticky' : 'round-robin'
      balancer.resetCounts()
      console.log(`--- mode: ${mode} (${balancer.mode}) ---`)
      return json(200, state())
    }
    case 'POST /demo/kill':
    case 'POST /demo/revive': {
      const instance = fleet.instances.find((i) => i.name === name)
      if (!instance) return json(404, { error: `no instance ${name}` })
      if (url.pathname === '/demo/kill') await instance.kill()
      else await instance.revive()
      console.log(`--- ${name} ${instance.alive ? 'revived' : 'killed'} ---`)
      return json(200, state())
    }
    default:
      return json(404, { error: 'unknown demo control' })
  }
}

function state() {
  return {
    mode,
    balancing: balancer.mode,
    store: storeLabel,
    embedded: !options.store,
    instances: fleet.instances.map((i) => ({
      name: i.name,
      framework: i.framework,
      alive: i.alive,
      served: balancer.counts()[i.name] ?? 0,
    })),
  }
}

const stop = async () => {
  await balancer.close()
  await fleet.stop()
  await shared?.close()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
