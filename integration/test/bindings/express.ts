import type { AddressInfo } from 'node:net'
import session from '@sessionkit/express'
import express, { type NextFunction, type Request, type Response } from 'express'
import type { BindingAdapter } from './adapter'
import { COOKIE, SECRET } from './adapter'

export const expressAdapter: BindingAdapter = {
  name: 'express',
  async start(options) {
    const app = express()
    app.use(
      session({
        secret: SECRET,
        name: COOKIE,
        resave: false,
        saveUninitialized: false,
        proxy: true,
        store: options.store,
        ...(options.cookie ? { cookie: options.cookie } : {}),
        ...(options.genid ? { genid: options.genid } : {}),
        ...(options.browserSessionTimeout ? { browserSessionTimeout: options.browserSessionTimeout } : {}),
      }),
    )
    const s = (req: Request) => req.session as unknown as Record<string, any>
    app.post('/login', async (req, res) => {
      await req.session.changeId()
      s(req).user = String(req.query.user)
      req.session.setPrincipal(String(req.query.user))
      res.send('ok')
    })
    app.get('/me', (req, res) => {
      res.json({ id: req.sessionID, user: s(req).user ?? null, a: s(req).a ?? null, b: s(req).b ?? null })
    })
    app.post('/set', async (req, res) => {
      s(req)[String(req.query.name)] = String(req.query.value)
      if (req.query.slow) await options.pause?.()
      res.send('ok')
    })
    app.post('/logout', async (req, res) => {
      await req.session.destroy()
      res.send('ok')
    })
    app.post('/revoke-others', async (req, res) => {
      await req.session.changeId()
      res.json({ count: await req.session.revokeAll({ exceptCurrent: true }) })
    })
    app.use((err: any, _req: Request, res: Response, _next: NextFunction) => {
      res.status(err.statusCode ?? 500).json({ code: err.code, message: err.message })
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    }
  },
}
