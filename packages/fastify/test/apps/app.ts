import { createRequire } from 'node:module'
import type { FastifyInstance } from 'fastify'
import ours from '../../src/index'

// The real peer, loaded untyped: its own module augmentation would clash with ours.
const peer = createRequire(import.meta.url)('@fastify/session') as typeof ours

/**
 * The two plugins an app can import: each app below is written once, as the docs show it for
 * @fastify/session, and runs with both; only the imported plugin differs.
 */
export const PLUGINS = [
  ['@fastify/session', peer],
  ['@sessionkit/fastify', ours],
] as const

export const SECRET = 'a-secret-with-at-least-32-characters!!'

/** Listens on a free loopback port; answers the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
}

/** Apps started by a test file, closed after each test. */
export function tracker(): { track(app: FastifyInstance): FastifyInstance; closeAll(): Promise<void> } {
  const apps: FastifyInstance[] = []
  return {
    track(app) {
      apps.push(app)
      return app
    },
    async closeAll() {
      await Promise.all(apps.splice(0).map((app) => app.close()))
    },
  }
}

/** The value (URL-decoded) a Set-Cookie header list gives `name`, if any. */
export function cookieValue(setCookies: string[], name = 'sessionId'): string | undefined {
  const line = setCookies.find((l) => l.startsWith(`${name}=`))
  return line === undefined ? undefined : decodeURIComponent(line.slice(name.length + 1).split(';', 1)[0]!)
}
