/**
 * What the Koa servers of the migration tests share (test/support/koa-*-migration-app.ts): the
 * arguments they are `fork()`ed with, the app's keys, its routes, and the process's life — it
 * reports `{ port }` over IPC; SIGTERM closes it gracefully (requests in flight finish), as a
 * rolling deploy stops a server. Only the session middleware differs from phase to phase.
 */
import Koa from 'koa'

/** `{ name, phase, redisUrl }`, as JSON in argv[2]. */
export function koaServerArgs<P extends string>(): { name: string; phase: P; redisUrl: string } {
  return JSON.parse(process.argv[2]!)
}

/** The session middleware of a phase, and how to close what it opened. */
export interface PhaseMiddleware {
  use: Koa.Middleware
  close(): Promise<void>
}

/**
 * Serves the routes login, count (a write), me (a read) and migration (what an operator's admin
 * endpoint shows: `middleware.migration`, null where the middleware has none) behind `session`.
 */
export async function serveKoa(
  instance: string,
  session: (app: Koa) => PhaseMiddleware | Promise<PhaseMiddleware>,
): Promise<void> {
  const app = new Koa()
  app.keys = ['migration key, current', 'migration key, previous']
  app.use(async (ctx, next) => {
    ctx.set('x-instance', instance)
    try {
      await next()
    } catch (err) {
      ctx.status = (err as { statusCode?: number }).statusCode ?? 500
      ctx.body = { error: (err as Error).message }
    }
  })
  const { use, close } = await session(app)
  app.use(use)
  app.use((ctx) => {
    const route = `${ctx.method} ${ctx.path}`
    if (route === 'GET /migration') {
      // docs/MIGRATION.md says when to go on from these counts.
      ctx.body = { migration: (use as { migration?: object }).migration ?? null }
      return
    }
    const current = ctx.session as Record<string, unknown>
    if (route === 'POST /login') {
      current.user = String(ctx.query.user)
      current.counter = 0
    } else if (route === 'POST /count') {
      current.counter = (typeof current.counter === 'number' ? current.counter : 0) + 1
    } else if (route !== 'GET /me') {
      ctx.status = 404
      return
    }
    ctx.body = { user: current.user ?? null, counter: current.counter ?? null }
  })

  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  process.send?.({ port: (server.address() as { port: number }).port })

  process.once('disconnect', () => process.exit(0))
  process.once('SIGTERM', () => {
    server.close(async () => {
      await close()
      process.exit(0)
    })
    server.closeIdleConnections()
  })
}
