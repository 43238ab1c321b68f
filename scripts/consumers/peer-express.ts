/**
 * Code written against @types/express-session, as apps and connect stores have it. The consumer
 * check compiles it twice: as written, with `express-session` installed as
 * `npm:@sessionkit/express`, and with the specifier rewritten to `@sessionkit/express`. Every
 * line here also compiles against @types/express-session 1.19 (strict).
 */
import express from 'express'
import session, {
  type Cookie,
  type CookieOptions,
  MemoryStore,
  type Session,
  type SessionData,
  type SessionOptions,
  Store,
} from 'express-session'

declare module 'express-session' {
  interface SessionData {
    user: { id: string; roles: string[] }
    returnTo: string
  }
}

type Callback = (err?: unknown, data?: any) => any

/** A connect store as connect-redis 9 writes it in TypeScript: async methods, optional callbacks. */
class KeyValueStore extends Store {
  readonly data = new Map<string, string>()
  constructor(readonly ttl = 86_400) {
    super()
  }
  async get(sid: string, cb?: Callback) {
    const raw = this.data.get(sid)
    return cb?.(null, raw === undefined ? null : (JSON.parse(raw) as SessionData))
  }
  async set(sid: string, sess: SessionData, cb?: Callback) {
    if (this.ttlOf(sess) <= 0) return this.destroy(sid, cb)
    this.data.set(sid, JSON.stringify(sess))
    return cb?.()
  }
  async touch(sid: string, sess: SessionData, cb?: Callback) {
    void this.ttlOf(sess)
    return cb?.(null, sid)
  }
  async destroy(sid: string, cb?: Callback) {
    this.data.delete(sid)
    return cb?.()
  }
  async clear(cb?: Callback) {
    this.data.clear()
    return cb?.()
  }
  async length(cb?: Callback) {
    return cb?.(null, this.data.size)
  }
  async all(cb?: Callback) {
    return cb?.(
      null,
      [...this.data.values()].map((raw) => JSON.parse(raw) as SessionData),
    )
  }
  private ttlOf(sess: SessionData): number {
    if (!sess?.cookie?.expires) return this.ttl
    return Math.ceil((Number(new Date(sess.cookie.expires)) - Date.now()) / 1000)
  }
}

/** The same with `override` on what the base declares (what `noImplicitOverride` asks for). */
class CallbackStore extends session.Store {
  readonly sessions: Record<string, SessionData> = {}
  override get(sid: string, callback: (err: any, session?: SessionData | null) => void): void {
    callback(null, this.sessions[sid] ?? null)
  }
  override set(sid: string, data: SessionData, callback?: (err?: any) => void): void {
    this.sessions[sid] = data
    callback?.()
  }
  override destroy(sid: string, callback?: (err?: any) => void): void {
    delete this.sessions[sid]
    callback?.()
  }
  override touch(sid: string, data: SessionData, callback?: () => void): void {
    this.sessions[sid] = data
    callback?.()
  }
  override all(callback: (err: any, obj?: { [sid: string]: SessionData } | null) => void): void {
    callback(null, this.sessions)
  }
  override createSession(req: express.Request, data: SessionData): Session & SessionData {
    return super.createSession(req, data)
  }
}

// The stores, the peer's MemoryStore included, are `Store`s.
const memory: session.Store = new session.MemoryStore()
const memoryStore: session.MemoryStore = new MemoryStore()
const stores: Store[] = [memory, memoryStore, new KeyValueStore(), new CallbackStore()]
function register(store: session.Store): void {
  store.on('disconnect', () => {})
  store.get('sid', (_err, data) => data?.cookie.originalMaxAge)
  store.regenerate({} as express.Request, () => {})
  store.load('sid', (_err, data) => data?.returnTo)
  store.all?.((_err, all) => all)
  store.touch?.('sid', {} as SessionData, () => {})
}
memoryStore.length((_err, n) => n)
memoryStore.clear()

const cookie: session.CookieOptions = { maxAge: 3_600_000, sameSite: 'lax', secure: 'auto', priority: 'high' }
const sameCookie: CookieOptions = cookie
const options: session.SessionOptions = {
  secret: ['current', 'previous'],
  name: 'sid',
  store: new KeyValueStore(),
  cookie: (req: express.Request) => ({ ...sameCookie, secure: req.secure }),
  genid: (req: express.Request) => `${req.ip}-${Date.now()}`,
  rolling: true,
  resave: false,
  saveUninitialized: false,
  proxy: true,
  unset: 'destroy',
}
const sameOptions: SessionOptions = options

/** Helpers typed with the peer's classes. */
function remember(s: session.Session & Partial<session.SessionData>, to: string): session.Session {
  s.returnTo = to
  return s.resetMaxAge().touch()
}
function expiry(c: session.Cookie): number | null {
  return c.expires ? c.expires.getTime() : c.originalMaxAge
}
const dataOf = (s: session.SessionData): string | undefined => s.user?.id ?? String(s.cookie.maxAge)

const app = express()
app.use(session(sameOptions))
app.use(session({ ...sameOptions, store: memoryStore }))
app.get('/', (req: express.Request, res: express.Response, next: express.NextFunction) => {
  const user = req.session.user
  const s: Session = req.session
  const c: Cookie = req.session.cookie
  c.maxAge = 60_000
  remember(req.session, req.originalUrl)
  req.sessionStore.get(req.sessionID, (err, stored) => {
    if (err) return next(err)
    res.json({ roles: user?.roles, returnTo: stored?.returnTo, id: s.id, expiry: expiry(c) })
  })
})
app.post('/reset', (req, res) => {
  // What Store#regenerate calls: the middleware's generate, on the request's store.
  req.sessionStore.generate(req)
  res.json(req.session.cookie.originalMaxAge)
})
app.post('/login', (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err)
    req.session.user = { id: 'u1', roles: ['admin'] }
    req.session.save((err) => (err ? next(err) : res.redirect(req.session.returnTo ?? '/')))
  })
})

export const used = [stores, register, dataOf]
