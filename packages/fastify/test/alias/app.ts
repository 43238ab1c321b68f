/**
 * Code written against @fastify/session's own types, compiled with `@fastify/session`
 * resolving to this package, as `"@fastify/session": "npm:@sessionkit/fastify"` installs it.
 * Not a line differs from a @fastify/session app; `pnpm typecheck` compiles it.
 */
import fastifyCookie from '@fastify/cookie'
import fastifySession, { type FastifySessionOptions, type SessionStore } from '@fastify/session'
import Fastify, { type Session } from 'fastify'

declare module 'fastify' {
  interface Session {
    user_id: string
    visits: number
  }
}

/** A callback store of the app's own, as @fastify/session's README shows one. */
class MapStore implements SessionStore {
  readonly sessions = new Map<string, Session>()
  set(sessionId: string, session: Session, callback: (err?: any) => void): void {
    this.sessions.set(sessionId, session)
    callback()
  }
  get(sessionId: string, callback: (err: any, result?: Session | null) => void): void {
    callback(null, this.sessions.get(sessionId) ?? null)
  }
  destroy(sessionId: string, callback: (err?: any) => void): void {
    this.sessions.delete(sessionId)
    callback()
  }
}

const options: FastifySessionOptions = {
  secret: 'a secret with minimum length of 32 characters',
  store: new MapStore(),
  cookie: { secure: 'auto', maxAge: 3_600_000 },
  saveUninitialized: false,
}

const app = Fastify()
app.register(fastifyCookie)
app.register(fastifySession, options)
app.register(fastifySession, { ...options, store: new fastifySession.MemoryStore() })
app.get('/', async (request) => {
  request.session.user_id = 'u1'
  request.session.set('visits', (request.session.get('visits') ?? 0) + 1)
  const visits: number | undefined = request.session.get('visits')
  await request.session.regenerate(['user_id'])
  request.session.cookie.maxAge = 30 * 86_400_000
  await request.session.save()
  return { visits, id: request.session.sessionId }
})
app.get('/peek/:sid', (request, reply) => {
  const { sid } = request.params as { sid: string }
  request.sessionStore.get(sid, (err, session) => (err ? reply.send(err) : reply.send(session ?? {})))
})
app.post('/logout', async (request) => {
  await request.session.destroy()
  return 'bye'
})
