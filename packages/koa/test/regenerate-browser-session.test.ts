import { MemoryStore } from '@sessionkit/memory'
import { afterAll, describe, expect, it } from 'vitest'
import ours from '../src/index'
import { DAY } from '../src/options'
import { freezeClock, makeApp, NOW, peer, releaseClock, run, type Step, type Transcript } from './harness'

const stores: MemoryStore[] = []
afterAll(() => Promise.all(stores.map((s) => s.close())))

/** koa-session's store over a Map, remembering every `set` as koa-session makes it. */
function recordingStore() {
  const data = new Map<string, unknown>()
  const sets: { key: string; data: Record<string, unknown>; maxAge: unknown }[] = []
  return {
    sets,
    get: async (key: string) => data.get(key),
    set: async (key: string, sess: Record<string, unknown>, maxAge: unknown) => {
      sets.push({ key, data: { ...sess }, maxAge })
      data.set(key, sess)
    },
    destroy: async (key: string) => void data.delete(key),
  }
}

/**
 * Both implementations through `steps` on a frozen clock; ours' record of `key` as stored then.
 * `/regenerate-only` regenerates without changing the data (the harness's `/regenerate` changes it first).
 */
async function both(steps: Step[], key: string) {
  const app = (impl: typeof ours, options: object) => {
    const koa = makeApp(impl, options)
    koa.use(async (ctx) => {
      if (ctx.path !== '/regenerate-only') return
      await (ctx.session as { regenerate(): Promise<void> }).regenerate()
      ctx.body = { maxAge: ctx.session!.maxAge ?? null }
    })
    return koa
  }
  freezeClock()
  try {
    let n = 0
    const store = recordingStore()
    const options = { maxAge: 'session', genid: () => `session-id-${++n}` }
    const theirs = await run(app(peer, { ...options, store }), steps)
    const memory = new MemoryStore()
    stores.push(memory)
    n = 0
    const mine = await run(app(ours, { ...options, store: memory }), steps)
    return { theirs, ours: mine, sets: store.sets, record: await memory.load(key) }
  } finally {
    releaseClock()
  }
}

const expiresOf = (t: Transcript) => t.setCookie.map((line) => /expires=([^;]+)/.exec(line)?.[1] ?? null)

describe("regenerate() with maxAge 'session', side by side with koa-session", () => {
  it('regenerating an unchanged session: the same cookies, the same answers, the same store calls', async () => {
    const steps: Step[] = [
      { path: '/inc' },
      { path: '/get' },
      { path: '/regenerate-only' },
      { path: '/get' },
      { path: '/inc' },
    ]
    const { theirs, ours: mine, sets, record } = await both(steps, 'session-id-2')
    expect(mine).toEqual(theirs)
    expect(mine[2]!.setCookie[0]).toBe('koa.sess=session-id-2; path=/; httponly')
    expect(sets.map((s) => [s.key, s.maxAge])).toEqual([
      ['session-id-1', 'session'],
      ['session-id-2', 'session'],
      ['session-id-2', 'session'],
    ])
    expect(JSON.parse(record!.attributes.cookie!)).toMatchObject({ originalMaxAge: null })
  })

  it('the response of regenerate(): the same browser-session cookie (no Expires) with the new key', async () => {
    const { theirs, ours: mine } = await both([{ path: '/inc' }, { path: '/regenerate' }], 'session-id-2')
    expect(mine[1]!.setCookie).toEqual(theirs[1]!.setCookie)
    expect(mine[1]!.setCookie[0]).toBe('koa.sess=session-id-2; path=/; httponly')
  })

  it('deliberate difference: koa-session turns the session into a one-day one, ours stays a browser-session one', async () => {
    const steps: Step[] = [{ path: '/inc' }, { path: '/regenerate' }, { path: '/get' }, { path: '/inc' }]
    const { theirs, ours: mine, sets, record } = await both(steps, 'session-id-2')
    // koa-session saves twice in the regenerating request (regenerate(), then the end-of-request
    // commit of the changed data); the first save forgets `maxAge: 'session'`, so the second
    // stores a one-day `_maxAge` and the store keeps the record a day + 10 s.
    const regenerated = sets.filter((s) => s.key === 'session-id-2')
    expect(regenerated.map((s) => s.maxAge)).toEqual(['session', DAY + 10_000, DAY + 10_000])
    expect(regenerated[1]!.data).toMatchObject({ _expire: NOW + DAY, _maxAge: DAY })
    // From then on its session reads `maxAge` one day, and its next saved cookie expires in a day.
    expect((theirs[2]!.body as { maxAge: unknown }).maxAge).toBe(DAY)
    expect(expiresOf(theirs[3]!)).toEqual([
      new Date(NOW + DAY).toUTCString(),
      new Date(NOW + DAY).toUTCString(),
    ])
    // Ours keeps what the app configured: no Expires ever, `maxAge` 'session'; the record lives
    // `browserSessionTimeout` (one day by default) past its last save, as every browser-session one.
    expect((mine[2]!.body as { maxAge: unknown }).maxAge).toBe('session')
    expect(expiresOf(mine[3]!)).toEqual([null, null])
    expect(record).toMatchObject({ expiresAt: NOW + DAY, maxInactiveMs: DAY })
    expect(JSON.parse(record!.attributes.cookie!)).toMatchObject({ originalMaxAge: null })
    // Everything else the client sees is the same.
    const withoutCookies = (t: Transcript[]) =>
      t.map(({ setCookie, body, ...rest }) => ({
        ...rest,
        body: { ...(body as object), maxAge: null },
        cookies: setCookie.map((c) => c.replace(/; expires=[^;]+/, '')),
      }))
    expect(withoutCookies(mine)).toEqual(withoutCookies(theirs))
  })
})
