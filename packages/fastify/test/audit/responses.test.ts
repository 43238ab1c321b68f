// Responses other than a handler's plain return: thrown errors, 404s, streams, redirects,
// hooks that answer early. The session rules run on each as on the peer.
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { recordingStore, type Step, sideBySide } from './harness'
import { describeSession } from './routes'

function routes(app: FastifyInstance): void {
  app.get('/set', async (request) => {
    request.session.a = '1'
    return describeSession(request)
  })
  app.get('/throw', async (request) => {
    request.session.b = '2'
    throw Object.assign(new Error('boom'), { statusCode: 418 })
  })
  app.get('/stream', async (request, reply) => {
    request.session.c = '3'
    reply.type('text/plain')
    return Readable.from(['a', 'b'])
  })
  app.get('/redirect', async (request, reply) => {
    request.session.d = '4'
    return reply.redirect('/set')
  })
  app.get('/early', { onRequest: async (_request, reply) => reply.code(204).send() }, async () => 'no')
  app.get('/pre', {
    preHandler: async (request, reply) => {
      request.session.e = '5'
      reply.code(401).send('no')
    },
    handler: async () => 'unreachable',
  })
  app.head('/head', async (request) => {
    request.session.f = '6'
    return ''
  })
  app.get('/peek', async (request) => describeSession(request))
}

const paths = ['/throw', '/stream', '/redirect', '/early', '/pre', '/missing', '/head']

describe('responses side by side with @fastify/session', () => {
  it.each(paths)('%s, then a peek', async (path) => {
    const steps: Step[] = [
      { path: '/set' },
      { path, method: path === '/head' ? 'HEAD' : 'GET' },
      { path: '/peek' },
    ]
    const options = { touchAfter: 0, cookie: { secure: false } }
    const [theirs, ours] = await sideBySide(options, routes, steps, () => recordingStore())
    expect(ours).toEqual(theirs)
  })

  it.each(paths)('%s on a new session, saveUninitialized: false', async (path) => {
    const steps: Step[] = [{ path, method: path === '/head' ? 'HEAD' : 'GET' }, { path: '/peek' }]
    const options = { saveUninitialized: false, cookie: { secure: false } }
    const [theirs, ours] = await sideBySide(options, routes, steps, () => recordingStore())
    expect(ours).toEqual(theirs)
  })
})
