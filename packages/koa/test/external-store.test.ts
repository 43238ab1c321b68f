import { describe, expect, it } from 'vitest'
import { type Step, sideBySide } from './harness'

/** A koa-session store that records every call it gets, with `ctx` reduced to its path. */
function recordingStore(log: unknown[]) {
  const data = new Map<string, unknown>()
  const strip = (o: any) => ({ ...o, ctx: o.ctx?.path })
  return {
    data,
    async get(key: string, maxAge: unknown, options: object) {
      log.push(['get', key, maxAge, strip(options)])
      return data.get(key)
    },
    async set(key: string, sess: unknown, maxAge: unknown, options: object) {
      log.push(['set', key, sess, maxAge, strip(options)])
      data.set(key, sess)
    },
    async destroy(key: string, options: object) {
      log.push(['destroy', key, strip(options)])
      data.delete(key)
    },
  }
}

/** Runs `steps` against both with a fresh recording store each, deterministic ids. */
async function compare(extra: object, steps: Step[], contextStore = false) {
  const logs: unknown[][] = []
  const options = () => {
    const log: unknown[] = []
    logs.push(log)
    let n = 0
    const store = recordingStore(log)
    const base = { genid: () => `id-${++n}`, ...extra }
    if (!contextStore) return { ...base, store }
    return {
      ...base,
      ContextStore: class {
        constructor(ctx: any) {
          log.push(['new ContextStore', ctx.path])
        }
        get(...args: [string, unknown, object]) {
          return store.get(...args)
        }
        set(...args: [string, unknown, unknown, object]) {
          return store.set(...args)
        }
        destroy(...args: [string, object]) {
          return store.destroy(...args)
        }
      },
    }
  }
  const { theirs, ours } = await sideBySide(options, steps)
  expect(logs[0]!.length).toBeGreaterThan(0)
  expect({ transcript: ours, calls: logs[1] }).toEqual({ transcript: theirs, calls: logs[0] })
}

const basic: Step[] = [
  { path: '/none' },
  { path: '/inc' },
  { path: '/get' },
  { path: '/inc' },
  { path: '/regenerate' },
  { path: '/get' },
  { path: '/assign?v=2' },
  { path: '/save' },
  { path: '/null' },
  { path: '/get' },
]

describe('a signed key cookie that does not verify, with a koa-session store', () => {
  // `id-1`'s value with a `.sig` that is wrong, or absent: no store call, the same answer.
  it.each([
    ['a bad .sig', 'koa.sess=id-1; koa.sess.sig=AAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['no .sig', 'koa.sess=id-1'],
  ])('%s', async (_name, cookie) => {
    await compare({}, [{ path: '/inc' }, { path: '/get', headers: { cookie } }, { path: '/get' }])
  })
})

describe('koa-session stores: called exactly as koa-session calls them', () => {
  it.each([
    ['defaults', {}],
    ['maxAge', { maxAge: 60_000 }],
    ["maxAge 'session'", { maxAge: 'session' }],
    ['rolling', { rolling: true }],
    ['renew', { renew: true, maxAge: 10_000 }],
    ['unsigned, own key', { signed: false, key: 'sid' }],
    ['valid', { valid: (_ctx: unknown, d: any) => d.views !== 2 }],
    [
      'beforeSave',
      {
        beforeSave: (_ctx: unknown, s: any) => {
          s.stamp = 1
        },
      },
    ],
  ])('%s', async (_label, extra) => {
    await compare(extra, basic)
  })

  it('ContextStore: one instance per request', async () => {
    await compare({}, basic, true)
  })

  it('missed and expired sessions emit the same events', async () => {
    await compare({ maxAge: 1_000 }, [
      { path: '/inc' },
      { path: '/get', advance: 11_500 },
      { path: '/inc' },
      { path: '/get', headers: { Cookie: 'koa.sess=unknown' } },
    ])
  })

  it('externalKey: the id travels in a header', async () => {
    const externalKey = {
      get: (ctx: any) => ctx.get('x-session'),
      set: (ctx: any, key: string) => ctx.set('x-session', key),
    }
    await compare({ externalKey }, [
      { path: '/inc' },
      { path: '/inc', headers: { 'x-session': 'id-1' } },
      { path: '/get', headers: { 'x-session': 'id-1' } },
    ])
  })

  it('prefix is ignored when genid is given, and used by the default genid', async () => {
    await compare({ prefix: 'p:' }, [{ path: '/inc' }])
  })
})
