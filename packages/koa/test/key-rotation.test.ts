import { MemoryStore } from '@sessionkit/memory'
import Koa from 'koa'
import request from 'supertest'
import { afterAll, describe, expect, it } from 'vitest'
import ours from '../src/index'
import { peer } from './harness'

const stores: MemoryStore[] = []
afterAll(() => Promise.all(stores.map((s) => s.close())))

function memory() {
  const store = new MemoryStore()
  stores.push(store)
  return store
}

const cookiesOf = (res: request.Response) =>
  ((res.headers['set-cookie'] as unknown as string[] | undefined) ?? []).map((c) => c.split(';')[0]!)

/** An app whose `/set` writes `user`, and whose every answer is the session's `user`. */
function makeApp(impl: typeof ours, options: object, keys: string[]) {
  const app = new Koa()
  app.keys = keys
  app.silent = true
  app.use(impl(options as never, app))
  app.use((ctx) => {
    const s = ctx.session as Record<string, any>
    if (ctx.path === '/set') s.user = ctx.query.user
    ctx.body = { user: s.user ?? null }
  })
  return app
}

/** Logs `user` in and answers the cookies the client then holds. */
async function login(app: Koa, user: string): Promise<string> {
  return cookiesOf(await request(app.callback()).get(`/set?user=${user}`)).join('; ')
}

const whoIs = async (app: Koa, cookie: string) =>
  (await request(app.callback()).get('/').set('Cookie', cookie)).body.user

/** Ways an app drops a leaked key at run time; koa's `ctx.cookies` sees each on the next request. */
const rotations: [string, (app: Koa) => void][] = [
  [
    'app.keys replaced',
    (app) => {
      app.keys = ['new key']
    },
  ],
  ['app.keys mutated in place', (app) => void (app.keys as string[]).splice(0, 1, 'new key')],
]

const modes: [string, () => object][] = [
  ['cookie mode', () => ({})],
  ['store mode, koa cookie (koa-session store)', () => ({ store: mapStore() })],
  [
    "sessionkit store, cookieFormat 'express' (app.keys)",
    () => ({ store: memory(), cookieFormat: 'express' }),
  ],
  ['sessionkit store, koa cookie', () => ({ store: memory() })],
]

function mapStore() {
  const data = new Map<string, unknown>()
  return {
    get: async (key: string) => data.get(key),
    set: async (key: string, sess: unknown) => void data.set(key, sess),
    destroy: async (key: string) => void data.delete(key),
  }
}

describe.each(modes)('%s: keys changed at run time take effect on the next request', (_mode, options) => {
  it.each(rotations)('%s: the old key is refused, the new one accepted', async (_label, rotate) => {
    const app = makeApp(ours, options(), ['old key'])
    const old = await login(app, 'alice')
    expect(await whoIs(app, old)).toBe('alice')
    rotate(app)
    expect(await whoIs(app, old)).toBe(null)
    const fresh = await login(app, 'bob')
    expect(await whoIs(app, fresh)).toBe('bob')
  })

  it('a key added in front: the old key still verifies', async () => {
    const app = makeApp(ours, options(), ['old key'])
    const old = await login(app, 'carol')
    ;(app.keys as string[]).unshift('new key')
    expect(await whoIs(app, old)).toBe('carol')
  })
})

describe('koa-session does the same', () => {
  it.each(rotations)('%s (cookie mode and store mode, side by side)', async (_label, rotate) => {
    for (const options of [() => ({}), () => ({ store: mapStore() })]) {
      const seen: unknown[][] = []
      for (const impl of [peer, ours]) {
        const app = makeApp(impl, options(), ['old key'])
        const old = await login(app, 'alice')
        const before = await whoIs(app, old)
        rotate(app)
        seen.push([before, await whoIs(app, old), await whoIs(app, await login(app, 'bob'))])
      }
      expect(seen[0]).toEqual(['alice', null, 'bob'])
      expect(seen[1]).toEqual(seen[0])
    }
  })
})

describe("cookieFormat 'express' with its own `secret` array", () => {
  it('mutating the array drops a leaked secret, as express-session reads its secrets per request', async () => {
    const secret = ['leaked']
    const app = makeApp(ours, { store: memory(), cookieFormat: 'express', secret }, ['unused'])
    const old = await login(app, 'dave')
    expect(await whoIs(app, old)).toBe('dave')
    secret[0] = 'fresh'
    expect(await whoIs(app, old)).toBe(null)
    expect(await whoIs(app, await login(app, 'erin'))).toBe('erin')
  })
})
