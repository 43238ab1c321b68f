/**
 * A real Koa app as koa-session users write one: koa-passport (passport-local) for login,
 * koa-csrf and a flash middleware, all on `ctx.session`. The same scenario runs on the real
 * koa-session and on ours, in cookie mode and in store mode (koa-redis for koa-session, a
 * sessionkit RedisStore for ours), and must read the same.
 */
import { createRequire } from 'node:module'
import { bodyParser } from '@koa/bodyparser'
import Router from '@koa/router'
import { RedisStore } from '@sessionkit/redis'
import { startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import Koa from 'koa'
import CSRF from 'koa-csrf'
import passport from 'koa-passport'
import { Strategy as LocalStrategy } from 'passport-local'
import request from 'supertest'
import { afterAll, describe, expect, it } from 'vitest'
import ours from '../../src/index'
import { peer } from '../harness'

declare module 'koa' {
  interface ExtendableContext {
    login(user: unknown): Promise<void>
    logout(): Promise<void>
    isAuthenticated(): boolean
  }
}

const require = createRequire(import.meta.url)
const koaRedis = require('koa-redis')

const server = await startRedis()
const client = new Redis(server.url)
const closers: (() => unknown)[] = []
afterAll(async () => {
  for (const close of closers) await close()
  client.disconnect()
  await server.stop()
})

const USERS = [{ id: '1', username: 'alice', password: 'wonderland' }]

/** connect-flash's behaviour for Koa: messages kept in `ctx.session.flash` until read. */
function flash(): Koa.Middleware {
  return async (ctx, next) => {
    ctx.flash = (type: string, message?: string) => {
      const all: Record<string, string[]> = ctx.session!.flash ?? {}
      if (message === undefined) {
        const messages = all[type] ?? []
        delete all[type]
        ctx.session!.flash = all
        return messages
      }
      all[type] = [...(all[type] ?? []), message]
      ctx.session!.flash = all
      return all[type]!.length
    }
    await next()
  }
}

function makeApp(session: typeof ours, options: object): Koa {
  const app = new Koa()
  app.keys = ['passport app key']
  app.silent = true
  const auth = new passport.KoaPassport()
  auth.use(
    new LocalStrategy((username, password, done) => {
      const user = USERS.find((u) => u.username === username && u.password === password)
      done(null, user ?? false, user ? undefined : { message: 'Wrong username or password' })
    }),
  )
  auth.serializeUser((user: any, done) => done(null, user.id))
  auth.deserializeUser((id: string, done) => done(null, USERS.find((u) => u.id === id) ?? false))
  app.use(session(options as never, app))
  app.use(bodyParser())
  app.use(flash())
  app.use(new CSRF())
  app.use(auth.initialize())
  app.use(auth.session())
  const router = new Router()
  router.get('/login', (ctx) => {
    ctx.body = { csrf: ctx.state._csrf, errors: (ctx as any).flash('error') }
  })
  router.post('/login', async (ctx, next) =>
    auth.authenticate('local', async (err: unknown, user: any, info: any) => {
      if (err) throw err
      if (!user) {
        ;(ctx as any).flash('error', info.message)
        ctx.redirect('/login')
        return
      }
      await ctx.login(user)
      ctx.redirect('/')
    })(ctx, next),
  )
  router.get('/', (ctx) => {
    if (!ctx.isAuthenticated()) return ctx.redirect('/login')
    ctx.session.views = (ctx.session.views ?? 0) + 1
    ctx.body = { user: (ctx.state.user as any).username, views: ctx.session.views }
  })
  router.post('/logout', async (ctx) => {
    await ctx.logout()
    ctx.redirect('/login')
  })
  app.use(router.routes())
  return app
}

/** Login with a wrong password, then right, browse, logout: what a browser sees, step by step. */
async function scenario(app: Koa) {
  const jar = new Map<string, string>()
  const handler = app.callback()
  const send = async (method: 'get' | 'post', path: string, form?: Record<string, string>) => {
    let req = request(handler)[method](path)
    if (jar.size) req = req.set('Cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '))
    if (form) req = req.type('form').send(form)
    const res = await req
    for (const line of (res.headers['set-cookie'] as unknown as string[] | undefined) ?? []) {
      const pair = line.split(';')[0]!
      const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]
      if (value && !/expires=Thu, 01 Jan 1970/i.test(line)) jar.set(name, value)
      else jar.delete(name)
    }
    return res
  }
  const seen: unknown[] = []
  const look = (res: request.Response) =>
    seen.push({
      status: res.status,
      location: res.headers.location ?? null,
      body: res.body?.csrf ? { ...res.body, csrf: 'token' } : res.body,
    })
  look(await send('get', '/'))
  const form = await send('get', '/login')
  look(form)
  look(await send('post', '/login', { username: 'alice', password: 'nope', _csrf: form.body.csrf }))
  const again = await send('get', '/login')
  look(again)
  look(await send('post', '/login', { username: 'alice', password: 'wonderland' }))
  look(await send('post', '/login', { username: 'alice', password: 'wonderland', _csrf: again.body.csrf }))
  look(await send('get', '/'))
  look(await send('get', '/'))
  const before = await send('get', '/login')
  look(await send('post', '/logout', { _csrf: before.body.csrf }))
  look(await send('get', '/'))
  return seen
}

const expected = [
  { status: 302, location: '/login' },
  { status: 200, body: { csrf: 'token', errors: [] } },
  { status: 302, location: '/login' },
  { status: 200, body: { csrf: 'token', errors: ['Wrong username or password'] } },
  { status: 403 },
  { status: 302, location: '/' },
  { status: 200, body: { user: 'alice', views: 1 } },
  { status: 200, body: { user: 'alice', views: 2 } },
  { status: 302, location: '/login' },
  { status: 302, location: '/login' },
]

describe('koa-passport + koa-csrf + flash, on koa-session and on ours', () => {
  it('cookie mode', async () => {
    const theirs = await scenario(makeApp(peer, {}))
    const mine = await scenario(makeApp(ours, {}))
    expect(theirs).toMatchObject(expected)
    expect(mine).toEqual(theirs)
  })

  it('store mode: koa-redis for koa-session, a sessionkit RedisStore for ours', async () => {
    const redisStore = koaRedis({ url: server.url, keyPrefix: 'koa-redis-test:' })
    closers.push(() => redisStore.quit())
    const theirs = await scenario(makeApp(peer, { store: redisStore }))
    const mine = await scenario(makeApp(ours, { store: new RedisStore({ client, prefix: 'passport-app:' }) }))
    expect(theirs).toMatchObject(expected)
    expect(mine).toEqual(theirs)
  })

  it('store mode: ours over koa-redis too (a koa-session store, called as koa-session calls it)', async () => {
    const redisStore = koaRedis({ url: server.url, keyPrefix: 'koa-redis-ours:' })
    closers.push(() => redisStore.quit())
    expect(await scenario(makeApp(ours, { store: redisStore }))).toMatchObject(expected)
  })
})
