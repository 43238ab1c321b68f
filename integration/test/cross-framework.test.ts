import type { AddressInfo } from 'node:net'
import fastifyCookie from '@fastify/cookie'
import sessionkitExpress from '@sessionkit/express'
import sessionkitFastify from '@sessionkit/fastify'
import { RedisStore } from '@sessionkit/redis'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

declare module '@sessionkit/express' {
  interface SessionData {
    user: string
    cart: string[]
    theme: string
  }
}
declare module 'fastify' {
  interface Session {
    user: string
    cart: string[]
    theme: string
  }
}

// One secret, one cookie (express-session's `connect.sid=s:<id>.<hmac>`), one Redis: two
// frameworks in two "processes" (separate clients) serve the same users.
const secret = 'a secret of at least thirty-two characters'
let redis: RedisServer
const clients: Redis[] = []
const closers: (() => Promise<unknown>)[] = []
let expressUrl: string
let fastifyUrl: string
// A slow request: it has loaded its session when `entered` resolves, and saves after `release`.
let gate: { enter: () => void; proceed: Promise<void> } | undefined
function armGate() {
  let enter!: () => void
  let release!: () => void
  const entered = new Promise<void>((resolve) => {
    enter = resolve
  })
  gate = {
    enter,
    proceed: new Promise<void>((resolve) => {
      release = resolve
    }),
  }
  return { entered, release }
}

function store() {
  const client = new Redis(redis.url)
  clients.push(client)
  return new RedisStore({ client })
}

beforeAll(async () => {
  redis = await startRedis()

  const app = express()
  app.use(sessionkitExpress({ secret, resave: false, saveUninitialized: false, store: store() }))
  app.post('/login', async (req, res) => {
    await req.session.changeId()
    req.session.user = 'ann'
    req.session.setPrincipal('ann')
    res.send('ok')
  })
  app.get('/me', (req, res) => {
    res.json({
      user: req.session.user ?? null,
      theme: req.session.theme ?? null,
      cart: req.session.cart ?? [],
    })
  })
  app.post('/cart/slow', async (req, res) => {
    const cart = req.session.cart ?? []
    const { enter, proceed } = gate!
    enter()
    await proceed
    req.session.cart = [...cart, 'apple']
    res.send('ok')
  })
  const listener = app.listen(0, '127.0.0.1')
  await new Promise((r) => listener.once('listening', r))
  expressUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`
  closers.push(() => new Promise((r) => listener.close(r)))

  const fastify: FastifyInstance = Fastify()
  await fastify.register(fastifyCookie)
  await fastify.register(sessionkitFastify, {
    secret,
    cookieName: 'connect.sid',
    cookiePrefix: 's:',
    cookie: { secure: false },
    saveUninitialized: false,
    store: store(),
  })
  fastify.get('/me', async (request) => ({
    user: request.session.user ?? null,
    theme: request.session.theme ?? null,
    cart: request.session.cart ?? [],
  }))
  fastify.post('/theme', async (request) => {
    request.session.theme = 'dark'
    return 'ok'
  })
  fastify.post('/logout', async (request) => {
    await request.session.destroy()
    return 'ok'
  })
  fastifyUrl = await fastify.listen({ port: 0, host: '127.0.0.1' })
  closers.push(() => fastify.close())
})

afterAll(async () => {
  for (const close of closers) await close()
  for (const client of clients) client.disconnect()
  await redis?.stop()
})

const call = (url: string, method: string, cookie: string) => fetch(url, { method, headers: { cookie } })
const cookieOf = (res: Response) => res.headers.get('set-cookie')?.split(';')[0] ?? ''

describe('one session across Express and Fastify over one Redis', () => {
  it('a login on Express is seen by Fastify; changes on either side are seen by the other', async () => {
    const login = await call(`${expressUrl}/login`, 'POST', '')
    const cookie = cookieOf(login)
    expect(cookie).toMatch(/^connect\.sid=s%3A/)

    expect(await (await call(`${fastifyUrl}/me`, 'GET', cookie)).json()).toEqual({
      user: 'ann',
      theme: null,
      cart: [],
    })
    expect((await call(`${fastifyUrl}/theme`, 'POST', cookie)).status).toBe(200)
    expect(await (await call(`${expressUrl}/me`, 'GET', cookie)).json()).toEqual({
      user: 'ann',
      theme: 'dark',
      cart: [],
    })
  })

  it('concurrent changes to different attributes from the two frameworks both persist', async () => {
    const cookie = cookieOf(await call(`${expressUrl}/login`, 'POST', ''))
    const { entered, release } = armGate()
    const slow = call(`${expressUrl}/cart/slow`, 'POST', cookie)
    await entered
    expect((await call(`${fastifyUrl}/theme`, 'POST', cookie)).status).toBe(200)
    release()
    expect((await slow).status).toBe(200)
    expect(await (await call(`${fastifyUrl}/me`, 'GET', cookie)).json()).toEqual({
      user: 'ann',
      theme: 'dark',
      cart: ['apple'],
    })
  })

  it('a logout on Fastify racing a slow Express request stays a logout', async () => {
    const cookie = cookieOf(await call(`${expressUrl}/login`, 'POST', ''))
    const { entered, release } = armGate()
    const slow = call(`${expressUrl}/cart/slow`, 'POST', cookie)
    await entered
    expect((await call(`${fastifyUrl}/logout`, 'POST', cookie)).status).toBe(200)
    release()
    await slow
    expect(await (await call(`${expressUrl}/me`, 'GET', cookie)).json()).toEqual({
      user: null,
      theme: null,
      cart: [],
    })
    expect(await (await call(`${fastifyUrl}/me`, 'GET', cookie)).json()).toEqual({
      user: null,
      theme: null,
      cart: [],
    })
  })
})
