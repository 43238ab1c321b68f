/**
 * One benchmark server: `node --conditions=@sessionkit/source --import tsx src/server.ts
 * '<ServerConfig JSON>'`. Prints one JSON line `{ port, statsPort }` once it listens on
 * loopback; exits on SIGTERM (so that `--cpu-prof` writes its profile).
 */
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { expressApp } from './apps/express'
import { fastifyApp } from './apps/fastify'
import { koaApp } from './apps/koa'
import { counters } from './counters'
import type { ServerConfig } from './matrix'

const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig

async function handler(): Promise<{ listen(): Promise<number> }> {
  if (config.framework === 'fastify') {
    const app = await fastifyApp(config)
    return {
      async listen() {
        await app.listen({ host: '127.0.0.1', port: 0 })
        return (app.server.address() as AddressInfo).port
      },
    }
  }
  const listener: RequestListener =
    config.framework === 'express' ? await expressApp(config) : (await koaApp(config)).callback()
  return { listen: () => listenOn(listener) }
}

function listenOn(listener: RequestListener): Promise<number> {
  const server = createServer(listener)
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

const port = await (await handler()).listen()
const statsPort = await listenOn((_req, res) => {
  res.setHeader('content-type', 'application/json')
  const cpu = process.cpuUsage()
  res.end(JSON.stringify({ ...counters, cpuMicros: cpu.user + cpu.system }))
})
process.on('SIGTERM', () => process.exit(0))
process.stdout.write(`${JSON.stringify({ port, statsPort })}\n`)
