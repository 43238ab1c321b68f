import fastifyCookie from '@fastify/cookie'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fastifySession, { type FastifySessionOptions } from '../src/index'

declare module 'fastify' {
  interface Session {
    views?: number
    a?: string
    b?: string
    login?: string
    big?: string
    cart?: { items: string[] }
  }
}

export const SECRET = 'a-secret-with-at-least-32-characters!!'
export const OLD_SECRET = 'an-old-secret-with-at-least-32-characters'

/** A started app on a loopback port; its base URL and a way to close it. */
export interface Running {
  app: FastifyInstance
  url: string
  close(): Promise<void>
}

/**
 * Starts Fastify with @fastify/cookie and the session plugin (secure: false unless given, so
 * plain HTTP tests see cookies), lets `routes` add routes, and listens on a free port.
 */
export async function start(
  options: Partial<FastifySessionOptions>,
  routes: (app: FastifyInstance) => void,
  server: FastifyServerOptions = {},
  plugin: unknown = fastifySession,
): Promise<Running> {
  const app = Fastify(server)
  await app.register(fastifyCookie)
  await app.register(
    (plugin ?? fastifySession) as typeof fastifySession,
    {
      secret: SECRET,
      ...options,
      cookie: { secure: false, ...options.cookie },
    } as FastifySessionOptions,
  )
  routes(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address() as { port: number }
  return { app, url: `http://127.0.0.1:${address.port}`, close: () => app.close() }
}

/** A response's status, parsed body and Set-Cookie headers. */
export interface Reply {
  status: number
  body: any
  setCookies: string[]
  headers: Headers
}

/** A browser-like client: keeps one cookie jar (name → value), honours expiry on clear. */
export class Client {
  readonly jar = new Map<string, string>()
  constructor(readonly base: string) {}

  async request(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Reply> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const res = await fetch(this.base + path, {
      ...init,
      headers: { ...(cookie ? { cookie } : {}), ...init.headers },
    })
    const setCookies = res.headers.getSetCookie()
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split('; ')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq)
      const value = pair!.slice(eq + 1)
      const expires = attrs.find((a) => a.toLowerCase().startsWith('expires='))
      if (value === '' || (expires && new Date(expires.slice(8)).getTime() <= Date.now()))
        this.jar.delete(name)
      else this.jar.set(name, value)
    }
    const text = await res.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {}
    return { status: res.status, body, setCookies, headers: res.headers }
  }

  get(path: string, headers?: Record<string, string>): Promise<Reply> {
    return this.request(path, { headers })
  }
}

/** A promise with its resolver, for deterministic "slow" handlers. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** Parses one Set-Cookie line into name, value and lower-cased attributes. */
export function parseSetCookie(line: string): {
  name: string
  value: string
  attrs: Record<string, string | true>
} {
  const [pair, ...rest] = line.split('; ')
  const eq = pair!.indexOf('=')
  const attrs: Record<string, string | true> = {}
  for (const a of rest) {
    const i = a.indexOf('=')
    if (i === -1) attrs[a.toLowerCase()] = true
    else attrs[a.slice(0, i).toLowerCase()] = a.slice(i + 1)
  }
  return { name: pair!.slice(0, eq), value: decodeURIComponent(pair!.slice(eq + 1)), attrs }
}
