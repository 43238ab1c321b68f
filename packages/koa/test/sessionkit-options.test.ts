import { MemoryStore } from '@sessionkit/memory'
import Koa from 'koa'
import request from 'supertest'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import session, { type SessionOptions } from '../src/index'

const stores: MemoryStore[] = []
afterAll(() => Promise.all(stores.map((s) => s.close())))
afterEach(() => {
  vi.useRealTimers()
})

function makeApp(options: SessionOptions = {}) {
  const store = new MemoryStore()
  stores.push(store)
  const app = new Koa()
  app.keys = ['k']
  const events: unknown[] = []
  for (const name of ['session:missed', 'session:invalid', 'session:expired']) {
    app.on(name, ({ key }: { key?: string }) => events.push([name, key]))
  }
  app.use(session({ store, ...options }, app))
  app.use((ctx) => {
    const q = ctx.query as Record<string, string>
    if (q.maxAge) ctx.session.maxAge = Number(q.maxAge)
    if (q.set) ctx.session[q.set] = q.value ?? true
    ctx.body = {
      data: ctx.session.toJSON(),
      key: ctx.session.externalKey,
      maxAge: ctx.session.maxAge ?? null,
    }
  })
  return { app, store, events, server: app.callback() }
}

const cookieOf = (res: request.Response) =>
  ((res.headers['set-cookie'] as unknown as string[] | undefined) ?? [])
    .map((c) => c.split(';')[0])
    .join('; ')

const flush = () => new Promise((resolve) => setImmediate(resolve))

describe('store mode on a sessionkit store: options', () => {
  it('externalKey: the key travels in a header, no cookie', async () => {
    const { server } = makeApp({
      externalKey: { get: (ctx) => ctx.get('x-session'), set: (ctx, key) => ctx.set('x-session', key) },
    })
    const first = await request(server).get('/?set=user&value=ann')
    const key = first.headers['x-session'] as string
    expect(key).toBe(first.body.key)
    expect(first.headers['set-cookie']).toBeUndefined()
    const second = await request(server).get('/').set('x-session', key)
    expect(second.body.data).toEqual({ user: 'ann' })
  })

  it('maxAge set by the app is this session’s lifetime, in the cookie and in the store', async () => {
    const { server, store } = makeApp({ maxAge: 60_000 })
    const first = await request(server).get('/?set=a&maxAge=120000')
    expect(first.headers['set-cookie']?.[0]).toMatch(/expires=/)
    const key = first.body.key
    expect((await store.load(key))?.maxInactiveMs).toBe(120_000)
    const next = await request(server).get('/').set('Cookie', cookieOf(first))
    expect(next.body.maxAge).toBe(120_000)
  })

  it('no silent touch by default; touchAfter extends an unchanged session without a cookie', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    for (const [touchAfter, extended] of [
      [undefined, false],
      [1_000, true],
    ] as const) {
      const { server, store } = makeApp({ maxAge: 60_000, touchAfter })
      const first = await request(server).get('/?set=a')
      const before = (await store.load(first.body.key))!.expiresAt
      vi.setSystemTime(Date.now() + 5_000)
      const read = await request(server).get('/').set('Cookie', cookieOf(first))
      expect(read.headers['set-cookie']).toBeUndefined()
      const after = (await store.load(first.body.key))!.expiresAt
      expect(after > before).toBe(extended)
    }
  })

  it('events: missed for a key the store does not hold (deleted or expired), invalid from valid()', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { server, store, events } = makeApp({ maxAge: 10_000, valid: (_ctx, data) => data.bad !== true })
    const deleted = await request(server).get('/?set=a')
    await store.delete(deleted.body.key)
    await request(server).get('/').set('Cookie', cookieOf(deleted))
    const live = await request(server).get('/?set=a')
    vi.setSystemTime(Date.now() + 11_000)
    // The store never returns an expired record, so an expired session reads as missed.
    await request(server).get('/').set('Cookie', cookieOf(live))
    const bad = await request(server).get('/?set=bad')
    const refused = await request(server).get('/').set('Cookie', cookieOf(bad))
    expect(refused.body.data).toEqual({})
    await flush()
    expect(events).toEqual([
      ['session:missed', deleted.body.key],
      ['session:missed', live.body.key],
      ['session:invalid', bad.body.key],
    ])
  })
})
