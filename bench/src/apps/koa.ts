import ours from '@sessionkit/koa'
import { MemoryStore } from '@sessionkit/memory'
import Koa, { type Context } from 'koa'
import redisStore from 'koa-redis'
import peer from 'koa-session'
import { SECRET } from '../fixtures'
import type { ServerConfig } from '../matrix'
import { need } from './clients'
import { type Attributes, login, read, setup, write } from './routes'
import { oursStore } from './stores'

/**
 * koa-session's defaults (signed cookie, 1 day). The peer's "memory" cell is its default
 * cookie mode (koa-session has no memory store); ours runs in store mode on our memory store.
 */
export async function koaApp(config: ServerConfig): Promise<Koa> {
  const app = new Koa()
  app.keys = [SECRET]
  if (config.variant === 'peer-memory') app.use(peer({}, app))
  else if (config.variant === 'peer-redis') {
    app.use(peer({ store: redisStore({ url: need(config.redisUrl, 'redisUrl') }) }, app))
  } else if (config.variant !== 'bare') {
    // Ours in store mode: the cookie carries the id, the session lives in our store.
    const store = (await oursStore(config)) ?? new MemoryStore()
    app.use(ours({ store }, app))
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
