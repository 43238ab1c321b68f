import { type SessionChange, SessionError } from '@sessionkit/core'
import { MemoryStore } from '@sessionkit/memory'
import express, { type NextFunction, type Request, type Response } from 'express'
import { describe, expect, it } from 'vitest'
import session, { isSessionError } from '../src/index'
import { request, SECRET } from './helpers'

/** An app whose error handler answers with `res.status(err.statusCode).end()`: no body of its own. */
function appEndingWithStatus(route: (req: Request, res: Response) => void, store = new MemoryStore()) {
  const app = express()
  app.use(session({ secret: SECRET, resave: false, saveUninitialized: false, maxSizeBytes: 1024, store }))
  app.post('/', route)
  app.use((err: any, _req: Request, res: Response, _next: NextFunction) => {
    res.status(isSessionError(err) ? err.statusCode : 500).end()
  })
  return app
}

describe('an error handler answering with res.status(err.statusCode).end()', () => {
  it('SESSION_TOO_LARGE reaches the client as a 413, not a dropped connection', async () => {
    const app = appEndingWithStatus((req: any, res) => {
      req.session.blob = 'x'.repeat(4096)
      res.send('the app body that never goes out')
    })
    const res = await request(app).post('/')
    expect(res.status).toBe(413)
    expect(res.text).toBe('')
  })

  it('ENCODE_FAILED reaches the client as a 500', async () => {
    const app = appEndingWithStatus((req: any, res) => {
      req.session.n = 10n
      res.json({ ok: true })
    })
    const res = await request(app).post('/')
    expect(res.status).toBe(500)
  })

  it('a store outage saving a new session reaches the client as a 503', async () => {
    class DownStore extends MemoryStore {
      override async save(_change: SessionChange): Promise<never> {
        throw new SessionError('STORE_UNAVAILABLE', 'store is down')
      }
    }
    const app = appEndingWithStatus((req: any, res) => {
      req.session.user = 'ann'
      res.send('logged in')
    }, new DownStore())
    const res = await request(app).post('/')
    expect(res.status).toBe(503)
    expect(res.headers['set-cookie']).toBeUndefined()
  })
})
