import { MemoryStore } from '@sessionkit/memory'
import Koa from 'koa'
import request from 'supertest'
import { afterAll, describe, expect, it } from 'vitest'
import ours from '../src/index'
import { peer } from './harness'

const stores: MemoryStore[] = []
afterAll(() => Promise.all(stores.map((s) => s.close())))

const cookiesOf = (res: request.Response) =>
  ((res.headers['set-cookie'] as unknown as string[] | undefined) ?? []).map((c) => c.split(';')[0]!)

/** A koa-session store over a Map: what koa-session does with the same cookie in store mode. */
function mapStore() {
  const data = new Map<string, unknown>()
  return {
    data,
    get: async (key: string) => data.get(key),
    set: async (key: string, sess: unknown) => void data.set(key, sess),
    destroy: async (key: string) => void data.delete(key),
  }
}

/** An app on `store` that answers the session's data, then (on `/again`) reads it once more. */
function makeApp(impl: typeof ours, store: object, options: object) {
  const app = new Koa()
  app.keys = ['key a']
  app.silent = true
  app.use(impl({ ...options, store } as never, app))
  app.use((ctx) => {
    // A read-write request, as an app's would be: the data is used and something is added.
    const s = ctx.session as Record<string, any>
    s.seen = true
    ctx.body = { user: s.user ?? null }
  })
  return app
}

/** What a client holding `cookie` gets, on its first request and on the next one with the cookies sent back. */
async function twoRequests(app: Koa, cookie: string) {
  const first = await request(app.callback()).get('/').set('Cookie', cookie)
  const jar = new Map(
    cookie.split('; ').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
  )
  for (const pair of cookiesOf(first))
    jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1))
  const next = await request(app.callback())
    .get('/')
    .set('Cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '))
  return [first.body.user, next.body.user]
}

/** A cookie-mode value as koa-session writes it, here written by an attacker. */
const forged = (data: object) =>
  Buffer.from(JSON.stringify({ ...data, _expire: Date.now() + 3_600_000, _maxAge: 3_600_000 })).toString(
    'base64',
  )

/** A real cookie-mode cookie koa-session issued, signed with `key a`. */
async function legacyCookie(user: string): Promise<string> {
  const app = new Koa()
  app.keys = ['key a']
  app.use(peer({ maxAge: 3_600_000 }, app))
  app.use((ctx) => {
    ctx.session!.user = user
    ctx.body = 'ok'
  })
  return cookiesOf(await request(app.callback()).get('/')).join('; ')
}

describe('moving from cookie mode: only a cookie whose signature was verified becomes session data', () => {
  it('signed: false: a forged cookie-mode value is a key, never data (as koa-session reads it)', async () => {
    const cookie = `koa.sess=${forged({ user: 'admin' })}`
    const theirs = await twoRequests(makeApp(peer, mapStore(), { signed: false }), cookie)
    const store = new MemoryStore()
    stores.push(store)
    const mine = await twoRequests(makeApp(ours, store, { signed: false }), cookie)
    expect(theirs).toEqual([null, null])
    expect(mine).toEqual(theirs)
  })

  it('signed: false: a genuine signed cookie-mode cookie is not migrated either', async () => {
    // Its .sig would be ignored with `signed: false`: the value alone is as trustworthy as a forged one.
    const cookie = await legacyCookie('frank')
    const store = new MemoryStore()
    stores.push(store)
    expect(await twoRequests(makeApp(ours, store, { signed: false }), cookie)).toEqual([null, null])
  })

  it('signed (default): a tampered cookie-mode value with the old .sig is no session', async () => {
    const genuine = await legacyCookie('eve')
    const sig = genuine.split('; ').find((p) => p.startsWith('koa.sess.sig='))!
    const cookie = `koa.sess=${forged({ user: 'admin' })}; ${sig}`
    const theirs = await twoRequests(makeApp(peer, mapStore(), {}), cookie)
    const store = new MemoryStore()
    stores.push(store)
    const mine = await twoRequests(makeApp(ours, store, {}), cookie)
    expect(theirs).toEqual([null, null])
    expect(mine).toEqual(theirs)
  })

  it('signed (default): a forged cookie-mode value without any .sig is no session', async () => {
    const store = new MemoryStore()
    stores.push(store)
    const mine = await twoRequests(makeApp(ours, store, {}), `koa.sess=${forged({ user: 'admin' })}`)
    expect(mine).toEqual([null, null])
  })

  it('signed (default): a genuine cookie-mode cookie still moves into the store', async () => {
    const store = new MemoryStore()
    stores.push(store)
    expect(await twoRequests(makeApp(ours, store, {}), await legacyCookie('frank'))).toEqual([
      'frank',
      'frank',
    ])
  })
})
