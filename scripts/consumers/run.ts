/**
 * One request per framework, in process, against the installed packages: each answers with a
 * session cookie. Compiled by the consumer check in each module setup (with types.ts, whose
 * declaration merging types the session fields used here) and run with node.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import fastifyCookie from '@fastify/cookie'
import session from '@sessionkit/express'
import fastifySession from '@sessionkit/fastify'
import koaSession from '@sessionkit/koa'
import express from 'express'
import Fastify from 'fastify'
import Koa from 'koa'

async function setCookieOf(listener: RequestListener): Promise<string> {
  const server = createServer(listener).listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    const { port } = server.address() as AddressInfo
    const res = await fetch(`http://127.0.0.1:${port}/`)
    assert.equal(res.status, 200, await res.text())
    return res.headers.getSetCookie().join('; ')
  } finally {
    server.close()
  }
}

async function expressCookie(): Promise<string> {
  const app = express()
  app.use(
    session({
      secret: 'consumer',
      resave: false,
      saveUninitialized: false,
      store: new session.MemoryStore(),
    }),
  )
  app.get('/', (req, res) => {
    req.session.views = 1
    res.send('ok')
  })
  return setCookieOf(app)
}

async function koaCookie(): Promise<string> {
  const app = new Koa()
  app.keys = ['consumer']
  app.use(koaSession({}, app))
  app.use((ctx) => {
    ctx.session.visits = 1
    ctx.body = 'ok'
  })
  return setCookieOf(app.callback())
}

async function fastifyCookieHeader(): Promise<string> {
  const app = Fastify()
  await app.register(fastifyCookie)
  // @fastify/session's cookie is Secure by default: not sent back over plain HTTP
  await app.register(fastifySession, {
    secret: 'a secret with minimum length of 32 characters',
    cookie: { secure: false },
  })
  app.get('/', async (request) => {
    request.session.set('hits', 1)
    return 'ok'
  })
  const res = await app.inject({ url: '/' })
  await app.close()
  assert.equal(res.statusCode, 200, res.body)
  return String(res.headers['set-cookie'])
}

async function main(): Promise<void> {
  assert.match(await expressCookie(), /^connect\.sid=s%3A/)
  assert.match(await koaCookie(), /^koa\.sess=/)
  assert.match(await fastifyCookieHeader(), /^sessionId=/)
}

main().then(
  () => console.log('consumer run: express, koa and fastify each set a session cookie'),
  (err: unknown) => {
    console.error(err)
    process.exitCode = 1
  },
)
