import { MemoryStore } from '@sessionkit/memory'
import { afterAll, describe, expect, it } from 'vitest'
import ours from '../src/index'
import { freezeClock, makeApp, releaseClock, run, type Step, sideBySide } from './harness'

const stores: MemoryStore[] = []
afterAll(() => Promise.all(stores.map((s) => s.close())))

/** koa-session over a plain Map store, the way apps use it with koa-redis. */
function mapStore() {
  const data = new Map<string, unknown>()
  return {
    get: async (key: string) => data.get(key),
    set: async (key: string, sess: unknown) => void data.set(key, sess),
    destroy: async (key: string) => void data.delete(key),
  }
}

/** The same client-visible transcript: koa-session on a Map store, ours on a sessionkit store. */
async function compare(extra: object, steps: Step[]) {
  let which = 0
  const options = () => {
    let n = 0
    const store = which++ === 0 ? mapStore() : new MemoryStore()
    if (store instanceof MemoryStore) stores.push(store)
    return { genid: () => `session-id-${++n}`, ...extra, store }
  }
  const { theirs, ours } = await sideBySide(options, steps)
  // Attribute-level saves keep the data, not its key order.
  const sortKeys = (t: typeof ours) =>
    t.map((step: any) =>
      step.body?.keys ? { ...step, body: { ...step.body, keys: [...step.body.keys].sort() } } : step,
    )
  expect(sortKeys(ours)).toEqual(sortKeys(theirs))
}

const basic: Step[] = [
  { path: '/none' },
  { path: '/get' },
  { path: '/inc' },
  { path: '/get' },
  { path: '/inc' },
  { path: '/set?name=alice' },
  { path: '/delete?k=name' },
  { path: '/assign?v=2' },
  { path: '/get' },
  { path: '/regenerate' },
  { path: '/get' },
  { path: '/save' },
  { path: '/null' },
  { path: '/get' },
]

describe('store mode on a sessionkit store: what the client sees is what koa-session shows', () => {
  it.each([
    ['defaults', {}],
    ['maxAge', { maxAge: 60_000 }],
    ['rolling', { rolling: true, maxAge: 60_000 }],
    ['unsigned, own key, attributes', { signed: false, key: 'sid', sameSite: 'lax', httpOnly: false }],
    [
      'beforeSave',
      {
        beforeSave: (_ctx: unknown, s: any) => {
          s.stamp = 1
        },
      },
    ],
    ['autoCommit false', { autoCommit: false }],
  ])('%s', async (_label, extra) => {
    await compare(extra, basic)
  })

  it("maxAge 'session': a browser-session cookie", async () => {
    // Not after regenerate(): koa-session then saves twice and the second save makes the
    // cookie a one-day cookie; ours keeps it a browser-session cookie.
    await compare(
      { maxAge: 'session' },
      basic.filter((step) => step.path !== '/regenerate'),
    )
  })

  it('renew re-sends the cookie in the second half of the lifetime', async () => {
    await compare({ renew: true, maxAge: 10_000 }, [
      { path: '/inc' },
      { path: '/get', advance: 2_000 },
      { path: '/get', advance: 4_000 },
      { path: '/get' },
    ])
  })

  it('members: save callback, maxAge, manuallyCommit, throw, bad assignment', async () => {
    await compare({}, [
      { path: '/save-cb' },
      { path: '/maxage?ms=5000' },
      { path: '/get' },
      { path: '/options' },
      { path: '/manual' },
      { path: '/throw' },
      { path: '/get' },
      { path: '/assign-bad' },
    ])
  })

  it('valid and missed', async () => {
    await compare({ valid: (_ctx: unknown, d: any) => d.views !== 2 }, [
      { path: '/inc' },
      { path: '/inc' },
      { path: '/inc' },
      { path: '/get', headers: { Cookie: 'koa.sess=unknown-id-123' } },
    ])
  })

  it('default ids are UUIDs, after prefix', async () => {
    freezeClock()
    try {
      const store = new MemoryStore()
      stores.push(store)
      const [res] = await run(makeApp(ours, { store, prefix: 'koa:sess:' }), [{ path: '/inc' }])
      expect((res!.body as any).externalKey).toMatch(/^koa:sess:[0-9a-f-]{36}$/)
      expect(res!.setCookie[0]).toMatch(/^koa\.sess=koa:sess:[0-9a-f-]{36}; path=\/; httponly$/)
    } finally {
      releaseClock()
    }
  })
})
