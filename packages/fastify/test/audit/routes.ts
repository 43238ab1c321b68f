import type { FastifyInstance, FastifyRequest } from 'fastify'

type Query = Record<string, string | undefined>

/** The session's data (no methods, no cookie) and its flags, as an app would log them. */
export function describeSession(request: FastifyRequest): Record<string, unknown> {
  const session = request.session as unknown as Record<string, unknown> | null
  if (!session) return { session: null }
  const data: Record<string, unknown> = {}
  for (const key of Object.keys(session).sort()) {
    if (key !== 'cookie' && typeof session[key] !== 'function') data[key] = session[key]
  }
  const cookie = request.session.cookie
  return {
    id: request.session.sessionId,
    data,
    modified: request.session.isModified(),
    saved: request.session.isSaved(),
    cookie: cookie
      ? {
          maxAge: cookie.maxAge === null || cookie.maxAge === undefined ? cookie.maxAge : 'number',
          originalMaxAge: cookie.originalMaxAge,
          hasExpires: cookie.expires instanceof Date,
          path: cookie.path,
          httpOnly: cookie.httpOnly,
          secure: cookie.secure,
          sameSite: cookie.sameSite,
          domain: cookie.domain,
        }
      : cookie,
  }
}

/** Routes an app written against @fastify/session uses; each answers the session afterwards. */
export function sessionRoutes(app: FastifyInstance): void {
  app.get('/set', async (request) => {
    for (const [key, value] of Object.entries(request.query as Query)) request.session.set(key, value)
    return describeSession(request)
  })
  app.get('/assign', async (request) => {
    for (const [key, value] of Object.entries(request.query as Query))
      (request.session as unknown as Query)[key] = value
    return describeSession(request)
  })
  app.get('/peek', async (request) => describeSession(request))
  app.get('/nothing', async () => 'ok')
  app.get('/regen', async (request) => {
    const keep = (request.query as Query).keep
    await (keep === undefined ? request.session.regenerate() : request.session.regenerate(keep.split(',')))
    return describeSession(request)
  })
  app.get('/regen-cb', (request, reply) => {
    request.session.regenerate((err?: unknown) =>
      reply.send({ err: errorOf(err), ...describeSession(request) }),
    )
  })
  app.get('/destroy', async (request) => {
    await request.session.destroy()
    return describeSession(request)
  })
  app.get('/destroy-cb', (request, reply) => {
    request.session.destroy((err?: unknown) => reply.send({ err: errorOf(err), ...describeSession(request) }))
  })
  app.get('/reload', async (request) => {
    const { k } = request.query as Query
    if (k) request.session.set(k, 'unsaved')
    await request.session.reload()
    return describeSession(request)
  })
  app.get('/reload-cb', (request, reply) => {
    request.session.reload((err?: unknown) => reply.send({ err: errorOf(err), ...describeSession(request) }))
  })
  app.get('/save', async (request) => {
    for (const [key, value] of Object.entries(request.query as Query)) request.session.set(key, value)
    await request.session.save()
    return describeSession(request)
  })
  app.get('/save-cb', (request, reply) => {
    request.session.set('saved', 'yes')
    request.session.save((err?: unknown) => reply.send({ err: errorOf(err), ...describeSession(request) }))
  })
  app.get('/touch', async (request) => {
    request.session.touch()
    return describeSession(request)
  })
  app.get('/options', async (request) => {
    const { maxAge, secure, x, ...rest } = request.query as Query
    request.session.options({
      ...(maxAge === undefined ? {} : { maxAge: Number(maxAge) }),
      ...(secure === undefined ? {} : { secure: secure === 'true' }),
      ...rest,
    })
    if (x !== undefined) request.session.set('x', x)
    return describeSession(request)
  })
  app.get('/options-regen', async (request) => {
    const { maxAge, ...rest } = request.query as Query
    request.session.options({ ...(maxAge === undefined ? {} : { maxAge: Number(maxAge) }), ...rest })
    await request.session.regenerate()
    return describeSession(request)
  })
  app.get('/maxage', async (request) => {
    request.session.cookie.maxAge = Number((request.query as Query).ms)
    return describeSession(request)
  })
}

/** An error as the app sees it: its message, code and status; `null`/`undefined` as such. */
export function errorOf(err: unknown): unknown {
  if (err === null || err === undefined) return String(err)
  const e = err as { message?: string; code?: string; statusCode?: number }
  return { message: e.message, code: e.code ?? null, statusCode: e.statusCode ?? null }
}
