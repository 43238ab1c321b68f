import type { AddressInfo } from 'node:net'
import { generateSessionId } from '@sessionkit/core'
import session from '@sessionkit/koa'
import Koa from 'koa'
import type { BindingAdapter } from './adapter'
import { COOKIE, SECRET } from './adapter'

export const koaAdapter: BindingAdapter = {
  name: 'koa',
  async start(options) {
    const app = new Koa()
    app.proxy = true
    app.use(async (ctx, next) => {
      try {
        await next()
      } catch (err: any) {
        ctx.status = err.statusCode ?? 500
        ctx.body = { code: err.code, message: err.message }
      }
    })
    app.use(
      session(
        {
          key: COOKIE,
          cookieFormat: 'express',
          secret: SECRET,
          store: options.store,
          ...options.cookie,
          // koa-session's own default is randomUUID(); the suite expects core's 32-character ids.
          genid: options.genid ?? (() => generateSessionId()),
          ...(options.browserSessionTimeout ? { browserSessionTimeout: options.browserSessionTimeout } : {}),
        },
        app,
      ),
    )
    app.use(async (ctx) => {
      const s = ctx.session as unknown as Record<string, any>
      const query = ctx.query as Record<string, string>
      const route = `${ctx.method} ${ctx.path}`
      if (route === 'POST /login') {
        await ctx.session.changeId()
        s.user = query.user
        ctx.session.setPrincipal(query.user)
        ctx.body = 'ok'
      } else if (route === 'GET /me') {
        ctx.body = { id: ctx.session.externalKey, user: s.user ?? null, a: s.a ?? null, b: s.b ?? null }
      } else if (route === 'POST /set') {
        s[query.name!] = query.value
        if (query.slow) await options.pause?.()
        ctx.body = 'ok'
      } else if (route === 'POST /logout') {
        ctx.session = null
        ctx.body = 'ok'
      } else if (route === 'POST /revoke-others') {
        await ctx.session.changeId()
        ctx.body = { count: await ctx.session.revokeAll({ exceptCurrent: true }) }
      }
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    }
  },
}
