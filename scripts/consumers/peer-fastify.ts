/**
 * Code written against @fastify/session 11's own types, as apps and plugins have it. The
 * consumer check compiles it twice: as written, with `@fastify/session` installed as
 * `npm:@sessionkit/fastify`, and with the specifier rewritten to `@sessionkit/fastify`. Every
 * line here also compiles against @fastify/session 11 (strict), in an ES module under
 * `nodenext`: the only setup where the peer's default import is also its type namespace.
 */
import fastifyCookie from '@fastify/cookie'
import fastifySession, {
  type CookieOptions,
  type FastifySessionObject,
  type FastifySessionOptions,
  MemoryStore,
  type SessionStore,
} from '@fastify/session'
import Fastify, { type FastifyPluginAsync, type FastifyRequest, type Session } from 'fastify'

declare module 'fastify' {
  interface Session {
    account?: { id: string; plan: 'free' | 'paid' }
    csrf: string
  }
}

/** A plugin that takes the session options as the peer types them and registers the peer. */
interface AuthPluginOptions {
  session: fastifySession.FastifySessionOptions
  cookie?: fastifySession.CookieOptions
}
const authPlugin: FastifyPluginAsync<AuthPluginOptions> = async (app, opts) => {
  await app.register(fastifyCookie)
  await app.register(fastifySession, { ...opts.session, cookie: { ...opts.session.cookie, ...opts.cookie } })
  app.get('/me', async (request) => request.session.account ?? null)
}

/** A store of the app's own against the namespace's interface. */
class ArrayStore implements fastifySession.SessionStore {
  readonly rows: [string, Session][] = []
  set(sessionId: string, session: Session, callback: (err?: any) => void): void {
    this.rows.push([sessionId, session])
    callback()
  }
  get(sessionId: string, callback: (err: any, result?: Session | null) => void): void {
    callback(null, this.rows.find(([id]) => id === sessionId)?.[1] ?? null)
  }
  destroy(sessionId: string, callback: (err?: any) => void): void {
    this.rows.splice(0, this.rows.length, ...this.rows.filter(([id]) => id !== sessionId))
    callback()
  }
}

let memory: fastifySession.MemoryStore = new fastifySession.MemoryStore()
memory = new MemoryStore(new Map<string, Session>())
const stores: fastifySession.SessionStore[] = [memory, new ArrayStore()]
const sameStore: SessionStore = memory
memory.get('sid', (_err, session) => session?.csrf)

const cookie: fastifySession.CookieOptions = { secure: 'auto', sameSite: 'lax', maxAge: 3_600_000, path: '/' }
const sameCookie: CookieOptions = cookie
const options: fastifySession.FastifySessionOptions = {
  secret: ['a secret with minimum length of 32 characters', 'the previous one, also 32 characters'],
  cookieName: 'sid',
  cookie: sameCookie,
  store: sameStore,
  saveUninitialized: false,
  rolling: false,
  idGenerator: (request?: FastifyRequest) => `${request?.ip ?? 'x'}-${Date.now()}`,
  cookiePrefix: 's:',
}
const sameOptions: FastifySessionOptions = options

/** Helpers typed with the namespace's session object. */
async function logout(session: fastifySession.FastifySessionObject): Promise<void> {
  await session.destroy()
}
function rotateCsrf(session: FastifySessionObject): string {
  session.set('csrf', session.sessionId.slice(0, 8))
  session.options({ maxAge: 60_000 })
  return session.get('csrf') ?? session.encryptedSessionId
}

const plugin = fastifySession.fastifySession
const app = Fastify()
app.register(authPlugin, { session: sameOptions })
app.register(plugin, { secret: 'a secret with minimum length of 32 characters' })
app.post('/logout', async (request) => {
  rotateCsrf(request.session)
  await logout(request.session)
  request.sessionStore.destroy(request.session.sessionId, () => {})
  return 'bye'
})

export const used = [stores]
