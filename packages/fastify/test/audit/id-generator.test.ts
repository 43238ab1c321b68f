import type { FastifyInstance, FastifyRequest } from 'fastify'
import { describe, expect, it } from 'vitest'
import { sideBySide } from './harness'

let counter = 0
/** As in @fastify/session's tests: the id tells whether the request's session was a returning visitor's. */
const idGenerator = (request?: FastifyRequest) =>
  `${request?.session?.returningVisitor ? 'returningVisitor' : 'custom'}-${Date.now()}-${++counter}`

function routes(app: FastifyInstance): void {
  app.get('/', async (request) => request.session.sessionId.replace(/-\d+-\d+$/, ''))
  app.get('/login', (request, reply) => {
    request.session.returningVisitor = true
    request.session.regenerate((error?: unknown) =>
      error
        ? reply.status(500).send(`Error ${error}`)
        : reply.send(request.session.sessionId.replace(/-\d+-\d+$/, '')),
    )
  })
}

describe('idGenerator side by side with @fastify/session', () => {
  it.each([[true], [false]])(
    'rolling: %s: the generator sees the request and its current session',
    async (rolling) => {
      const steps = [{ path: '/' }, { path: '/login' }, { path: '/' }]
      const options = { idGenerator, rolling, touchAfter: 0, cookie: { secure: false, maxAge: 10_000 } }
      const [theirs, ours] = await sideBySide(options, routes, steps)
      expect(theirs.map((o) => o.body)).toEqual(['custom', 'returningVisitor', 'returningVisitor'])
      expect(ours).toEqual(theirs)
    },
  )
})
