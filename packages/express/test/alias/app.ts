/**
 * Code written against express-session's own types (@types/express-session), compiled with
 * `express-session` resolving to this package, as `"express-session": "npm:@sessionkit/express"`
 * installs it. Not a line differs from an express-session app; `pnpm typecheck` compiles it.
 */
import express from 'express'
import session, { type SessionData, type SessionOptions, Store } from 'express-session'

declare module 'express-session' {
  interface SessionData {
    userId: string
    views: number
  }
}

const options: session.SessionOptions = {
  secret: ['current', 'previous'],
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: 3_600_000, secure: 'auto', sameSite: 'lax' },
}
const same: SessionOptions = options

/** A connect store of the app's own, as the README of express-session shows one. */
class JsonStore extends Store {
  readonly sessions = new Map<string, string>()
  constructor(options?: object) {
    super(options)
  }
  get(sid: string, callback: (err: any, session?: SessionData | null) => void): void {
    const raw = this.sessions.get(sid)
    callback(null, raw === undefined ? null : (JSON.parse(raw) as SessionData))
  }
  set(sid: string, data: SessionData, callback?: (err?: any) => void): void {
    this.sessions.set(sid, JSON.stringify(data))
    callback?.()
  }
  destroy(sid: string, callback?: (err?: any) => void): void {
    this.sessions.delete(sid)
    callback?.()
  }
}

const app = express()
app.use(session({ ...same, store: new JsonStore() }))
app.use(session({ ...same, store: new session.MemoryStore() }))
app.get('/', (req, res, next) => {
  req.session.views = (req.session.views ?? 0) + 1
  const id: string | undefined = req.session.userId
  req.sessionStore.get(req.sessionID, (err, stored) => {
    if (err) return next(err)
    res.json({ id, views: stored?.views ?? null })
  })
})
app.post('/logout', (req, res, next) => {
  req.sessionStore.destroy(req.sessionID, (err) => (err ? next(err) : res.send('bye')))
})
app.post('/login', (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err)
    req.session.userId = 'u1'
    req.session.cookie.maxAge = 30 * 86_400_000
    req.session.save((err) => (err ? next(err) : res.redirect('/')))
  })
})

app.listen(0).close()
