import fastifyCookie from '@fastify/cookie'
import fastifySession from '@sessionkit/fastify'
import Fastify from 'fastify'
import type { BindingAdapter } from './adapter'
import { COOKIE, SECRET } from './adapter'

export const fastifyAdapter: BindingAdapter = {
  name: 'fastify',
  async start(options) {
    const app = Fastify({ trustProxy: true })
    await app.register(fastifyCookie)
    await app.register(fastifySession, {
      secret: SECRET,
      cookieName: COOKIE,
      cookiePrefix: 's:',
      saveUninitialized: false,
      store: options.store,
      cookie: { secure: false, ...options.cookie },
      ...(options.genid ? { idGenerator: options.genid } : {}),
      ...(options.browserSessionTimeout ? { browserSessionTimeout: options.browserSessionTimeout } : {}),
    })
    const s = (request: { session: unknown }) => request.session as Record<string, any>
    app.post('/login', async (request) => {
      const user = String((request.query as Record<string, string>).user)
      await request.session.changeId()
      s(request).user = user
      request.session.setPrincipal(user)
      return 'ok'
    })
    app.get('/me', async (request) => ({
      id: request.session.sessionId,
      user: s(request).user ?? null,
      a: s(request).a ?? null,
      b: s(request).b ?? null,
    }))
    app.post('/set', async (request) => {
      const query = request.query as Record<string, string>
      s(request)[query.name!] = query.value
      if (query.slow) await options.pause?.()
      return 'ok'
    })
    app.post('/logout', async (request) => {
      await request.session.destroy()
      return 'ok'
    })
    app.post('/revoke-others', async (request) => {
      await request.session.changeId()
      return { count: await request.session.revokeAll({ exceptCurrent: true }) }
    })
    app.setErrorHandler((err: any, _request, reply) => {
      reply.status(err.statusCode ?? 500).send({ code: err.code, message: err.message })
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() }
  },
}
