import Koa, { type Context } from 'koa'
import redisStore from 'koa-redis'
import peer from 'koa-session'
import { SECRET } from '../fixtures'
import type { ServerConfig } from '../matrix'
import { need } from './clients'
import { type Attributes, login, read, setup, write } from './routes'
import { oursStore } from './stores'

type Middleware = Koa.Middleware

/**
 * koa-session's defaults (signed cookie, 1 day). The peer keeps the session in the cookie
 * unless given an external store; ours keeps it in the memory store unless given one.
 */
export async function koaApp(config: ServerConfig): Promise<Koa> {
  const app = new Koa()
  app.keys = [SECRET]
  if (config.variant === 'peer-memory') app.use(peer({}, app))
  else if (config.variant === 'peer-redis') {
    app.use(peer({ store: redisStore({ url: need(config.redisUrl, 'redisUrl') }) }, app))
  } else if (config.variant !== 'bare') {
    const store = await oursStore(config)
    app.use(await oursMiddleware(store ? { store } : {}, app))
  }
  const bag = (ctx: Context) => ctx.session as unknown as Attributes
  const bare = config.variant === 'bare'
  // No router: the same three comparisons per request in every Koa cell.
  app.use((ctx) => {
    const path = ctx.path
    if (path.startsWith('/setup/')) {
      setup(bag(ctx), path.slice('/setup/'.length))
      ctx.body = 'ok'
    } else if (path === '/read') ctx.body = read(bare ? undefined : bag(ctx))
    else if (path === '/write') ctx.body = bare ? '1' : write(bag(ctx))
    else if (path === '/new') ctx.body = bare ? 'created' : login(bag(ctx))
    else ctx.status = 404
  })
  return app
}

/** @sessionkit/koa, imported only when a Koa cell of ours runs. */
async function oursMiddleware(options: object, app: Koa): Promise<Middleware> {
  const mod = (await import('@sessionkit/koa')) as Record<string, unknown>
  const create = (mod.default ?? mod.session) as ((opts: object, app: Koa) => Middleware) | undefined
  if (typeof create !== 'function') throw new Error('@sessionkit/koa exports no middleware yet')
  return create(options, app)
}
