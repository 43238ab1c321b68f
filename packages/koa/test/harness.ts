import { createRequire } from 'node:module'
import Koa from 'koa'
import request from 'supertest'
import { vi } from 'vitest'
import ours from '../src/index'

/** The real koa-session 7, as apps load it. */
export const peer = createRequire(import.meta.url)('koa-session').default as typeof ours

export type Implementation = typeof ours
export const implementations: [string, Implementation][] = [
  ['koa-session', peer],
  ['@sessionkit/koa', ours],
]

export const KEYS = ['key one', 'key two']
/** A fixed clock, so cookie values, Expires and signatures are comparable byte for byte. */
export const NOW = Date.UTC(2026, 0, 15, 12, 0, 0)

/** Only Date is faked: timers, setImmediate and sockets stay real. */
export function freezeClock(): void {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW)
}

export function releaseClock(): void {
  vi.useRealTimers()
}

/** Routes every scenario can use; each one exercises one member of `ctx.session`. */
export function routes(app: Koa): void {
  app.use(async (ctx, next) => {
    const s = () => ctx.session as Record<string, any>
    const q = ctx.query as Record<string, string>
    switch (ctx.path) {
      case '/none':
        ctx.body = 'none'
        return
      case '/get':
        ctx.body = describe(ctx)
        return
      case '/set':
        for (const [k, v] of Object.entries(q)) s()[k] = v
        ctx.body = describe(ctx)
        return
      case '/inc':
        s().views = (s().views ?? 0) + 1
        ctx.body = describe(ctx)
        return
      case '/delete':
        delete s()[q.k!]
        ctx.body = describe(ctx)
        return
      case '/null':
        ctx.session = null
        ctx.body = String(ctx.session)
        return
      case '/assign':
        ctx.session = { assigned: q.v ?? 'yes' }
        ctx.body = describe(ctx)
        return
      case '/assign-bad':
        ctx.session = 'nope' as never
        return
      case '/save':
        await s().save()
        ctx.body = describe(ctx)
        return
      case '/save-cb':
        await new Promise<void>((resolve, reject) =>
          s().save((err?: Error) => (err ? reject(err) : resolve())),
        )
        ctx.body = describe(ctx)
        return
      case '/regenerate':
        s().regenerated = true
        await s().regenerate()
        ctx.body = describe(ctx)
        return
      case '/maxage':
        s().maxAge = q.ms === 'session' ? 'session' : Number(q.ms)
        ctx.body = describe(ctx)
        return
      case '/manual':
        s().views = (s().views ?? 0) + 1
        await s().manuallyCommit()
        ctx.body = describe(ctx)
        return
      case '/throw':
        s().beforeThrow = true
        ctx.throw(418, 'teapot')
        return
      case '/options':
        ctx.body = { key: ctx.sessionOptions.key, maxAge: ctx.sessionOptions.maxAge ?? null }
        return
    }
    await next()
  })
}

function describe(ctx: Koa.Context) {
  const session = ctx.session as any
  if (!session) return { session: null }
  return {
    json: session.toJSON(),
    isNew: session.isNew,
    length: session.length,
    populated: session.populated,
    maxAge: session.maxAge ?? null,
    externalKey: session.externalKey ?? null,
    keys: Object.keys(session),
  }
}

export interface Step {
  path?: string
  /** Move the frozen clock forward before this request. */
  advance?: number
  headers?: Record<string, string>
}

export interface Transcript {
  status: number
  body: unknown
  setCookie: string[]
  events: unknown[]
}

/** A Koa app with the implementation under test, an error reporter and the routes. */
export function makeApp(
  impl: Implementation,
  options: object | (() => object),
  setup?: (app: Koa) => void,
): Koa {
  const app = new Koa()
  app.keys = [...KEYS]
  app.proxy = true
  app.silent = true
  setup?.(app)
  app.use(impl((typeof options === 'function' ? options() : { ...options }) as never, app))
  routes(app)
  return app
}

/**
 * Runs `steps` with a cookie jar and reports what the client saw and which session events
 * the app emitted, step by step.
 */
export async function run(app: Koa, steps: Step[]): Promise<Transcript[]> {
  const events: unknown[] = []
  for (const name of ['session:missed', 'session:invalid', 'session:expired']) {
    app.on(name, ({ key, value }: { key?: string; value?: unknown }) =>
      events.push([name, key ?? null, value ?? null]),
    )
  }
  const jar = new Map<string, string>()
  const out: Transcript[] = []
  const server = app.callback()
  for (const step of steps) {
    if (step.advance) vi.setSystemTime(Date.now() + step.advance)
    const req = request(server).get(step.path ?? '/get')
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    if (cookie) req.set('Cookie', cookie)
    for (const [k, v] of Object.entries(step.headers ?? {})) req.set(k, v)
    const res = await req
    await new Promise((resolve) => setImmediate(resolve))
    const setCookie = (res.headers['set-cookie'] as unknown as string[] | undefined) ?? []
    for (const line of setCookie) {
      const [pair, ...attrs] = line.split(';')
      const eq = pair!.indexOf('=')
      const [name, value] = [pair!.slice(0, eq), pair!.slice(eq + 1)]
      const expired = attrs.some((a) => a.trim().toLowerCase() === 'expires=thu, 01 jan 1970 00:00:00 gmt')
      if (expired || value === '') jar.delete(name)
      else jar.set(name, value)
    }
    out.push({
      status: res.status,
      body: res.body && Object.keys(res.body).length ? res.body : res.text,
      setCookie,
      events: events.splice(0),
    })
  }
  return out
}

/** Runs the same steps against koa-session and ours, each on a fresh app. */
export async function sideBySide(
  options: object | (() => object),
  steps: Step[],
  setup?: (app: Koa) => void,
): Promise<{ theirs: Transcript[]; ours: Transcript[] }> {
  freezeClock()
  try {
    const theirs = await run(makeApp(peer, options, setup), steps)
    vi.setSystemTime(NOW)
    const mine = await run(makeApp(ours, options, setup), steps)
    return { theirs, ours: mine }
  } finally {
    releaseClock()
  }
}
