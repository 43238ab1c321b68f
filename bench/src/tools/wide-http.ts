/**
 * `node --conditions=@sessionkit/source --import tsx src/tools/wide-http.ts <express|fastify> [variant] [n]`:
 * one app on a loopback port, the 100 000-attribute session set up once, then `n` cookie-only
 * `GET /read` one at a time (plain `fetch`, no load generator): ms per request. A quick check
 * of the wide cell; add `--cpu-prof` to profile it.
 */
import type { AddressInfo } from 'node:net'
import { expressApp } from '../apps/express'
import { fastifyApp } from '../apps/fastify'
import type { ServerConfig } from '../matrix'

const framework = process.argv[2] === 'fastify' ? 'fastify' : 'express'
const variant = (process.argv[3] ?? 'ours-memory') as ServerConfig['variant']
const n = Number(process.argv[4] ?? 10)
const config = { framework, variant } as ServerConfig

let base: string
let close: () => Promise<void>
if (framework === 'express') {
  const app = await expressApp(config)
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  close = () => new Promise((resolve) => server.close(() => resolve()))
} else {
  const app = await fastifyApp(config)
  base = await app.listen({ port: 0, host: '127.0.0.1' })
  close = () => app.close()
}

const setup = await fetch(`${base}/setup/wide`)
const cookie = setup.headers.get('set-cookie')?.split(';')[0]
if (!cookie) throw new Error('the setup request got no session cookie')
const read = async () => {
  const res = await fetch(`${base}/read`, { headers: { cookie } })
  const body = await res.text()
  if (body !== 'ada') throw new Error(`the session was not loaded: ${body}`)
}
await read() // warm-up
const started = performance.now()
for (let i = 0; i < n; i++) await read()
console.log(
  `${framework} ${variant} wide /read: ${((performance.now() - started) / n).toFixed(0)} ms/request`,
)
await close()
