import http from 'node:http'
import { createRequire } from 'node:module'
import request from 'supertest'
import { expect, it } from 'vitest'
import session from '../../src/index'

/** express-session itself, and ours: each side-by-side scenario runs on both. */
export const peer = createRequire(import.meta.url)('express-session')
export const IMPLEMENTATIONS: [string, any][] = [
  ['express-session', peer],
  ['@sessionkit/express', session],
]

export const SECRET = 'keyboard cat'

type Listener = (req: any, res: any) => void

/** A plain Node server around the middleware, wired as express-session's own tests wire it. */
export interface Server {
  server: http.Server
  /** Messages of the errors that reached `next(err)` after the response had started. */
  errors: string[]
}

/**
 * A bare `http` server with the middleware: `setup` runs first, then the middleware, then
 * `respond` (default: an empty 200). An error before the headers answers `err.status || 500`
 * with the message; one after them is recorded (the server's `error` event in the peer's suite).
 */
export function createServer(
  impl: any,
  options: Record<string, unknown> = {},
  respond: Listener = (_req, res) => res.end(),
  setup?: Listener,
): Server {
  const opts = { cookie: { maxAge: 60_000 }, secret: SECRET, ...options }
  const middleware = impl(opts)
  const errors: string[] = []
  const server = http.createServer((req, res) => {
    setup?.(req, res)
    middleware(req, res, (err?: any) => {
      if (err && !res.headersSent) {
        res.statusCode = err.status || 500
        res.end(err.message)
        return
      }
      if (err) {
        errors.push(err.message)
        return
      }
      respond(req, res)
    })
  })
  return { server, errors }
}

/** What a client saw: status, body and the session cookie's shape (value and date masked). */
export interface Seen {
  status: number
  body: string
  cookie: string | undefined
}

export const setCookieOf = (res: request.Response): string | undefined =>
  (res.headers['set-cookie'] as unknown as string[] | undefined)?.[0]

/** The Set-Cookie line with the value and the Expires date masked. */
export const shape = (line: string | undefined) =>
  line?.replace(/^([^=]+)=[^;]*/, '$1=<value>').replace(/Expires=[^;]+/, 'Expires=<date>')

export const seen = (res: request.Response): Seen => ({
  status: res.status,
  body: res.text,
  cookie: shape(setCookieOf(res)),
})

/** `name=value` of the first Set-Cookie. */
export const cookieOf = (res: request.Response): string => setCookieOf(res)!.split(';')[0]!

/** The session id inside a signed cookie `name=s%3A<id>.<mac>`. */
export const sidOf = (res: request.Response): string => {
  const value = decodeURIComponent(cookieOf(res).split('=')[1]!)
  return value.slice(2, value.lastIndexOf('.'))
}

export const get = (server: Server, path = '/', cookie?: string) => {
  const r = request(server.server).get(path)
  return cookie ? r.set('Cookie', cookie) : r
}

/** Wraps `name` on the store instance (as the peer's tests do) and records each call. */
export function record(store: any, calls: string[], names = ['get', 'set', 'destroy', 'touch']): void {
  for (const name of names) {
    const original = store[name]
    if (typeof original !== 'function') continue
    store[name] = function (this: unknown, ...args: unknown[]) {
      calls.push(name)
      return original.apply(this, args)
    }
  }
}

/** Node-callback to promise. */
export const cb = <T>(run: (done: (err: unknown, value?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => run((err, value) => (err ? reject(err) : resolve(value as T))))

/** A few event-loop turns: errors passed to `next` after the response have arrived by then. */
export async function turns(count = 5): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve))
}

export type Scenario = (impl: any) => Promise<unknown>

/** Runs each scenario on both and expects the same observations. */
export function sideBySide(scenarios: Record<string, Scenario>): void {
  it.each(Object.entries(scenarios))('%s', async (_name, scenario) => {
    const theirs = await scenario(peer)
    const ours = await scenario(IMPLEMENTATIONS[1]![1])
    expect(ours).toEqual(theirs)
  })
}

/** A route counting sessions: the first request of each session gets the next number. */
export const counter = () => {
  let count = 0
  return (req: any, res: any) => {
    req.session.num = req.session.num || ++count
    res.end(`session ${req.session.num}`)
  }
}

/** How many sessions a connect store holds. */
export const lengthOf = (store: any) => cb<number>((done) => store.length(done))

/** express-session's test helper: a write after end throws. */
export function writePatch(res: any): void {
  const end = res.end
  const write = res.write
  let ended = false
  res.end = function (this: unknown, ...args: unknown[]) {
    ended = true
    return end.apply(this, args)
  }
  res.write = function (this: unknown, ...args: unknown[]) {
    if (ended) throw new Error('write after end')
    return write.apply(this, args)
  }
}
