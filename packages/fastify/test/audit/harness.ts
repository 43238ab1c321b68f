// Runs one request sequence against the real @fastify/session and against ours, with the same
// routes and options, and records what an app or a store can observe: status, body, Set-Cookie
// (ids replaced by s1, s2, … in order of appearance, dates by <date>) and the store's calls.
import { createRequire } from 'node:module'
import fastifyCookie from '@fastify/cookie'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import ours from '../../src/index'

export const peer = createRequire(import.meta.url)('@fastify/session') as typeof ours
export const SECRET = 'a-secret-with-at-least-32-characters!!'
export const PLUGINS = [
  ['@fastify/session', peer],
  ['@sessionkit/fastify', ours],
] as const

type Callback = (err?: unknown, value?: unknown) => void

/** A callback store over JSON in a Map: records each call, can fail or answer synchronously. */
export function recordingStore(options: { async?: boolean } = {}) {
  const sessions = new Map<string, string>()
  const calls: string[] = []
  const failures: { get?: unknown; set?: unknown; destroy?: unknown } = {}
  const answer = (cb: Callback, err: unknown, value?: unknown) =>
    options.async ? setImmediate(() => cb(err, value)) : cb(err, value)
  return {
    sessions,
    calls,
    failures,
    store: {
      get(id: string, cb: Callback) {
        calls.push(`get ${id}`)
        if (failures.get) return answer(cb, failures.get)
        const raw = sessions.get(id)
        answer(cb, null, raw === undefined ? null : JSON.parse(raw))
      },
      set(id: string, session: Record<string, unknown>, cb: Callback) {
        calls.push(`set ${id} ${Object.keys(session).sort().join(',')}`)
        if (failures.set) return answer(cb, failures.set)
        sessions.set(id, JSON.stringify(session))
        answer(cb, null)
      },
      destroy(id: string, cb: Callback) {
        calls.push(`destroy ${id}`)
        if (failures.destroy) return answer(cb, failures.destroy)
        sessions.delete(id)
        answer(cb, null)
      },
    },
  }
}

export interface Step {
  path: string
  method?: 'GET' | 'POST' | 'HEAD'
  /** Cookie header to send instead of the jar's (a forged or foreign value). */
  cookie?: string
  /** Forget the jar before this step. */
  clear?: boolean
  headers?: Record<string, string>
}

export interface Observed {
  status: number
  body: unknown
  setCookie: string[]
  calls?: string[]
}

/** An app with @fastify/cookie, the plugin under test and `routes`, ready for inject. */
export async function build(
  plugin: unknown,
  options: Record<string, unknown>,
  routes: (app: FastifyInstance) => void,
  server: FastifyServerOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify(server)
  await app.register(fastifyCookie)
  await app.register(plugin as typeof ours, { secret: SECRET, ...options } as never)
  routes(app)
  await app.ready()
  return app
}

/** Replaces each session id (plain or signed) by s1, s2, … in order of appearance. */
export class IdNames {
  readonly #names = new Map<string, string>()
  name(id: string): string {
    const plain = id.split('.')[0]!
    let name = this.#names.get(plain)
    if (!name) {
      name = `s${this.#names.size + 1}`
      this.#names.set(plain, name)
    }
    return name
  }
  /** Every known id inside `text` replaced by its name. */
  replace(text: string): string {
    let out = text
    for (const [id, name] of this.#names) out = out.split(id).join(name)
    return out
  }
}

/** Runs `steps` with a cookie jar; answers what each response and the store showed. */
export async function run(
  app: FastifyInstance,
  steps: Step[],
  store?: { calls: string[] },
  cookieName = 'sessionId',
  prefix = '',
): Promise<Observed[]> {
  const names = new IdNames()
  let jar: string | undefined
  const out: Observed[] = []
  try {
    for (const step of steps) {
      if (step.clear) jar = undefined
      if (store) store.calls.length = 0
      const cookie = step.cookie ?? (jar === undefined ? undefined : `${cookieName}=${jar}`)
      const res = await app.inject({
        method: step.method ?? 'GET',
        url: step.path,
        headers: { ...(cookie ? { cookie } : {}), ...step.headers },
      })
      const raw = res.headers['set-cookie']
      const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
      const setCookie = lines.map((line) => {
        const [pair, ...attrs] = line.split('; ')
        const eq = pair!.indexOf('=')
        const value = decodeURIComponent(pair!.slice(eq + 1))
        if (pair!.slice(0, eq) === cookieName) jar = value === '' ? undefined : value
        const shown =
          value === '' ? '' : names.name(value.startsWith(prefix) ? value.slice(prefix.length) : value)
        return [
          `${pair!.slice(0, eq)}=${shown}`,
          ...attrs.map((a) => (/^expires=/i.test(a) && !a.includes('1970') ? 'Expires=<date>' : a)),
        ].join('; ')
      })
      let body: unknown = res.body
      try {
        body = JSON.parse(res.body)
      } catch {}
      // An id the app showed but no cookie carried (an unsaved session) gets a name too.
      const shownId = (body as { id?: unknown } | null)?.id
      if (typeof shownId === 'string') names.name(shownId)
      const observed: Observed = {
        status: res.statusCode,
        body:
          typeof body === 'string' ? names.replace(body) : JSON.parse(names.replace(JSON.stringify(body))),
        setCookie,
      }
      if (store)
        observed.calls = store.calls.map((call) => call.replace(/ (\S+)/, (_m, id) => ` ${names.name(id)}`))
      out.push(observed)
    }
  } finally {
    await app.close()
  }
  return out
}

/** The same scenario on both plugins: [peer, ours]. */
export async function sideBySide(
  options: Record<string, unknown> | (() => Record<string, unknown>),
  routes: (app: FastifyInstance) => void,
  steps: Step[],
  withStore?: () => ReturnType<typeof recordingStore>,
  server: FastifyServerOptions = {},
): Promise<[Observed[], Observed[]]> {
  const results: Observed[][] = []
  for (const [, plugin] of PLUGINS) {
    const recording = withStore?.()
    const opts = typeof options === 'function' ? options() : options
    const app = await build(plugin, recording ? { ...opts, store: recording.store } : opts, routes, server)
    const cookieName = (opts.cookieName as string | undefined) ?? 'sessionId'
    results.push(
      await run(app, steps, recording, cookieName, (opts.cookiePrefix as string | undefined) ?? ''),
    )
  }
  return results as [Observed[], Observed[]]
}
