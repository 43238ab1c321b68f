import Koa, { type Context } from 'koa'
import { SHARED_CONFIG } from '../config'
import {
  type AppOptions,
  attributeKey,
  errorReply,
  passBarrier,
  plainText,
  type RunningApp,
  urlOf,
  view,
  viewHeaders,
} from './shared'

// Loaded by name at run time so this file compiles before @sessionkit/koa exports its
// middleware; `koaAvailable()` is the one check the tables use.
async function koaSession(): Promise<((options: object, app: Koa) => Koa.Middleware) | undefined> {
  const pkg: Record<string, unknown> = await import('@sessionkit/koa')
  return typeof pkg.default === 'function' ? (pkg.default as never) : undefined
}

/** True once @sessionkit/koa exports its middleware: until then the Koa rows are not run. */
export async function koaAvailable(): Promise<boolean> {
  return (await koaSession()) !== undefined
}

/** A Koa instance on @sessionkit/koa with the shared configuration (see ./shared.ts for routes). */
export async function startKoa(options: AppOptions): Promise<RunningApp> {
  const session = await koaSession()
  if (!session) throw new Error('@sessionkit/koa exports no middleware yet')
  const app = new Koa()
  app.use(async (ctx, next) => {
    try {
      await next()
    } catch (err) {
      const { status, body } = errorReply(err)
      ctx.status = status
      ctx.set('x-instance', options.name)
      ctx.body = body
    }
  })
  app.use(
    session(
      {
        // express-session's cookie, name and signed form, instead of koa-session's own.
        key: SHARED_CONFIG.cookieName,
        cookieFormat: 'express',
        secret: [...SHARED_CONFIG.secrets],
        maxAge: SHARED_CONFIG.maxAgeMs,
        store: options.store,
      },
      app,
    ),
  )
  const data = (ctx: Context) => ctx.session as unknown as Record<string, unknown>
  const reply = (ctx: Context) => {
    const s = ctx.session as unknown as { externalKey?: string } | null
    const v = view(options.name, s?.externalKey ?? null, s ? data(ctx) : {})
    ctx.set(viewHeaders(v))
    ctx.body = v
  }
  const features = (ctx: Context) =>
    ctx.session as unknown as {
      changeId(): Promise<string>
      setPrincipal(p: string): void
      revokeAll(): Promise<number>
    }

  app.use(async (ctx) => {
    const query = ctx.query as Record<string, string | undefined>
    const route = `${ctx.method} ${ctx.path}`
    if (route === 'GET /api/me') return reply(ctx)
    if (route === 'POST /api/login') {
      const user = plainText(query.user)
      if (!user) return badRequest(ctx, 'user required')
      await features(ctx).changeId()
      Object.assign(data(ctx), { user, marker: plainText(query.marker) ?? null })
      features(ctx).setPrincipal(user)
      return reply(ctx)
    }
    if (route === 'POST /api/set') {
      const key = attributeKey(query.name)
      if (!key) return badRequest(ctx, 'name required')
      await passBarrier(query.barrier)
      data(ctx)[key] = String(query.value ?? '')
      return reply(ctx)
    }
    if (route === 'POST /api/count') {
      const d = data(ctx)
      d.counter = (typeof d.counter === 'number' ? d.counter : 0) + 1
      return reply(ctx)
    }
    if (route === 'POST /api/logout') {
      ctx.session = null
      return reply(ctx)
    }
    if (route === 'POST /api/revoke-all') {
      ctx.body = { instance: options.name, ended: await features(ctx).revokeAll() }
      return
    }
    ctx.status = 404
  })

  const listener = app.listen(options.port ?? 0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    listener.once('listening', resolve)
    listener.once('error', reject)
  })
  return {
    name: options.name,
    framework: 'koa',
    ...urlOf(listener.address()),
    close: () =>
      new Promise<void>((resolve) => {
        listener.close(() => resolve())
        listener.closeAllConnections()
      }),
  }
}

function badRequest(ctx: Context, message: string) {
  ctx.status = 400
  ctx.body = { error: 'BAD_REQUEST', message }
}
