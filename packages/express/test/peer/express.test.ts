/**
 * express-session's own test suite, side by side. Here: Express's response helpers (send with
 * ETag and 304, json, redirect, sendFile, 204, HEAD) around a session write.
 * Each scenario runs on express-session and on @sessionkit/express; what the client, the store
 * and the server's error channel saw must be the same.
 */
import { fileURLToPath } from 'node:url'
import express from 'express'
import request from 'supertest'
import { describe } from 'vitest'
import { record, SECRET, seen, sideBySide } from './harness'

/** An Express app on `impl` whose routes all change the session; store calls are recorded. */
function appOn(impl: any, calls: string[]) {
  const store = new impl.MemoryStore()
  record(store, calls)
  const app = express()
  app.use(
    impl({ secret: SECRET, resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 } }),
  )
  app.use((req: any, _res, next) => {
    req.session.hits = (req.session.hits ?? 0) + 1
    next()
  })
  app.get('/send', (_req, res) => res.send('same body'))
  app.get('/json', (req: any, res) => res.json({ hits: req.session.hits }))
  app.get('/redirect', (_req, res) => res.redirect('/json'))
  app.get('/file', (_req, res) => res.sendFile(fileURLToPath(import.meta.url)))
  app.get('/empty', (_req, res) => res.status(204).end())
  app.use((err: any, _req: any, res: any, _next: any) => res.status(500).send(err.message))
  return app
}

describe("Express's response helpers", () => {
  sideBySide({
    'send, then a conditional request answered 304': async (impl) => {
      const calls: string[] = []
      const app = appOn(impl, calls)
      const first = await request(app).get('/send')
      const etag = first.headers.etag!
      const cookie = first.headers['set-cookie']![0]!.split(';')[0]!
      const second = await request(app).get('/send').set('Cookie', cookie).set('If-None-Match', etag)
      return [seen(first), seen(second), calls]
    },
    'json, redirect, 204': async (impl) => {
      const calls: string[] = []
      const app = appOn(impl, calls)
      return [
        seen(await request(app).get('/json')),
        seen(await request(app).get('/redirect')),
        seen(await request(app).get('/empty')),
        calls,
      ]
    },
    'sendFile streams the file after the save': async (impl) => {
      const calls: string[] = []
      const res = await request(appOn(impl, calls)).get('/file')
      return [
        res.status,
        Number(res.headers['content-length']) > 100,
        res.headers['set-cookie']?.length,
        calls,
      ]
    },
    'HEAD through Express': async (impl) => {
      const calls: string[] = []
      const res = await request(appOn(impl, calls)).head('/send')
      return [res.status, res.headers['content-length'], res.headers['set-cookie']?.length, calls]
    },
  })
})
