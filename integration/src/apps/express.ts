import session from '@sessionkit/express'
import express, { type NextFunction, type Request, type Response } from 'express'
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

/** An Express instance on @sessionkit/express with the shared configuration (see ./shared.ts for routes). */
export async function startExpress(options: AppOptions): Promise<RunningApp> {
  const app = express()
  app.use(
    session({
      name: SHARED_CONFIG.cookieName,
      secret: [...SHARED_CONFIG.secrets],
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: SHARED_CONFIG.maxAgeMs },
      store: options.store,
    }),
  )
  const data = (req: Request) => req.session as unknown as Record<string, unknown>
  const reply = (req: Request, res: Response) => {
    const v = view(options.name, req.session ? req.sessionID : null, req.session ? data(req) : {})
    res.set(viewHeaders(v)).json(v)
  }

  app.get('/api/me', reply)
  app.post('/api/login', async (req, res) => {
    const user = plainText(req.query.user)
    if (!user) return void res.status(400).json({ error: 'BAD_REQUEST', message: 'user required' })
    await req.session.changeId()
    Object.assign(data(req), { user, marker: plainText(req.query.marker) ?? null })
    req.session.setPrincipal(user)
    reply(req, res)
  })
  app.post('/api/set', async (req, res) => {
    const key = attributeKey(req.query.name)
    if (!key) return void res.status(400).json({ error: 'BAD_REQUEST', message: 'name required' })
    await passBarrier(req.query.barrier)
    data(req)[key] = String(req.query.value ?? '')
    reply(req, res)
  })
  app.post('/api/count', (req, res) => {
    const d = data(req)
    d.counter = (typeof d.counter === 'number' ? d.counter : 0) + 1
    reply(req, res)
  })
  app.post('/api/logout', async (req, res) => {
    await req.session.destroy()
    reply(req, res)
  })
  app.post('/api/revoke-all', async (req, res) => {
    const ended = await req.session.revokeAll()
    res.json({ instance: options.name, ended })
  })
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = errorReply(err)
    res.status(status).set('x-instance', options.name).json(body)
  })

  const listener = app.listen(options.port ?? 0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    listener.once('listening', resolve)
    listener.once('error', reject)
  })
  return {
    name: options.name,
    framework: 'express',
    ...urlOf(listener.address()),
    close: () =>
      new Promise<void>((resolve) => {
        listener.close(() => resolve())
        listener.closeAllConnections()
      }),
  }
}
