import fastifyCookie from '@fastify/cookie'
import sessionkitFastify from '@sessionkit/fastify'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
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

type Query = Record<string, string | undefined>

/** A Fastify instance on @sessionkit/fastify with the shared configuration (see ./shared.ts for routes). */
export async function startFastify(options: AppOptions): Promise<RunningApp> {
  const app = Fastify()
  await app.register(fastifyCookie)
  await app.register(sessionkitFastify, {
    // @fastify/session's cookie is `<prefix><id>.<hmac>`: with express-session's name and
    // `s:` prefix it is the same cookie the Express and Koa instances issue.
    cookieName: SHARED_CONFIG.cookieName,
    cookiePrefix: SHARED_CONFIG.cookiePrefix,
    secret: [...SHARED_CONFIG.secrets],
    saveUninitialized: false,
    cookie: { secure: false, maxAge: SHARED_CONFIG.maxAgeMs },
    store: options.store,
  })
  const data = (request: FastifyRequest) => request.session as unknown as Record<string, unknown>
  const reply = (request: FastifyRequest, res: FastifyReply) => {
    const session = request.session
    const v = view(options.name, session ? session.sessionId : null, session ? data(request) : {})
    res.headers(viewHeaders(v))
    return v
  }

  app.get('/api/me', reply)
  app.post('/api/login', async (request, res) => {
    const query = request.query as Query
    const user = plainText(query.user)
    if (!user) return res.code(400).send({ error: 'BAD_REQUEST', message: 'user required' })
    await request.session.changeId()
    Object.assign(data(request), { user, marker: plainText(query.marker) ?? null })
    request.session.setPrincipal(user)
    return reply(request, res)
  })
  app.post('/api/set', async (request, res) => {
    const query = request.query as Query
    const key = attributeKey(query.name)
    if (!key) return res.code(400).send({ error: 'BAD_REQUEST', message: 'name required' })
    await passBarrier(query.barrier)
    data(request)[key] = String(query.value ?? '')
    return reply(request, res)
  })
  app.post('/api/count', async (request, res) => {
    const d = data(request)
    d.counter = (typeof d.counter === 'number' ? d.counter : 0) + 1
    return reply(request, res)
  })
  app.post('/api/logout', async (request, res) => {
    await request.session.destroy()
    return reply(request, res)
  })
  app.post('/api/revoke-all', async (request) => {
    const ended = await request.session.revokeAll()
    return { instance: options.name, ended }
  })
  app.setErrorHandler((err, _request, res) => {
    const { status, body } = errorReply(err)
    res.code(status).header('x-instance', options.name).send(body)
  })

  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' })
  return {
    name: options.name,
    framework: 'fastify',
    ...urlOf(app.server.address()),
    close: async () => {
      app.server.closeAllConnections()
      await app.close()
    },
  }
}
