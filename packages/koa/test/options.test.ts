import { isSessionError } from '@sessionkit/core'
import Koa from 'koa'
import { describe, expect, it } from 'vitest'
import ours from '../src/index'
import { peer } from './harness'

const store = { get: async () => undefined, set: async () => {}, destroy: async () => {} }

/** What each implementation throws for `options`, as comparable facts. */
function failure(impl: typeof ours, options: unknown) {
  try {
    impl(options as never, new Koa())
    return 'no error'
  } catch (err: any) {
    return { message: err.message, issues: err.issues?.map((i: any) => ({ path: i.path, code: i.code })) }
  }
}

const invalid: [string, object][] = [
  ['key', { key: 1 }],
  ['autoCommit', { autoCommit: 'yes' }],
  ['overwrite', { overwrite: 0 }],
  ['httpOnly', { httpOnly: 'true' }],
  ['signed', { signed: 1 }],
  ['rolling', { rolling: 'yes' }],
  ['renew', { renew: null }],
  ['secure', { secure: 'auto' }],
  ['sameSite', { sameSite: true }],
  ['store members', { store: { get: async () => {} } }],
  ['store type', { store: 'redis' }],
  ['externalKey', { externalKey: { get: () => 'x' } }],
  ['encode', { encode: 1 }],
  ['decode', { decode: 'base64' }],
  ['genid', { genid: 'uuid' }],
  ['prefix', { prefix: 1 }],
  ['valid', { valid: true }],
  ['beforeSave', { beforeSave: {} }],
  ['several at once', { key: 1, signed: 'no', genid: 2 }],
  ['ContextStore not a class', { ContextStore: () => {} }],
  ['ContextStore without get', { ContextStore: class {} }],
  [
    'ContextStore without destroy',
    {
      ContextStore: class {
        get() {}
        set() {}
      },
    },
  ],
]

describe('options', () => {
  it.each(invalid)('invalid %s: the same error as koa-session, as a SessionError', (_label, options) => {
    const theirs = failure(peer, { ...options })
    const mine = failure(ours, { ...options })
    expect(mine).toEqual(theirs)
    try {
      ours({ ...options } as never, new Koa())
    } catch (err) {
      expect(isSessionError(err, 'INVALID_OPTIONS')).toBe(true)
    }
  })

  it('maxAge must be a number or "session": the same message and issues as koa-session', () => {
    const exactly = (impl: typeof ours, options: object) => {
      try {
        impl(options as never, new Koa())
        return 'no error'
      } catch (err: any) {
        return { message: err.message, issues: JSON.parse(JSON.stringify(err.issues)) }
      }
    }
    for (const maxAge of ['not the right string', null, true, {}, Number.NaN]) {
      expect(exactly(ours, { maxAge })).toEqual(exactly(peer, { maxAge }))
    }
    expect(failure(ours, { maxAge: 'x' })).toMatchObject({
      issues: [{ path: ['maxAge'], code: 'invalid_union' }],
    })
    for (const maxAge of [1000, 'session', undefined]) expect(failure(ours, { maxAge })).toBe('no error')
  })

  it('requires the app, in either argument order', () => {
    expect(failure(ours, {})).toEqual(failure(peer, {}))
    expect(() => ours(undefined as never, undefined as never)).toThrow(
      new TypeError('app instance required: `session(opts, app)`'),
    )
    expect(() => peer(undefined as never, undefined as never)).toThrow(TypeError)
    const app = new Koa()
    expect(typeof ours(app as never)).toBe('function')
    expect(typeof ours(app as never, { key: 'a' })).toBe('function')
    expect(typeof ours({ key: 'b' }, app)).toBe('function')
  })

  it('fills the defaults into the options object, as koa-session does', () => {
    const theirs: Record<string, unknown> = { maxAge: 5 }
    const mine: Record<string, unknown> = { maxAge: 5 }
    peer(theirs as never, new Koa())
    ours(mine as never, new Koa())
    const facts = (o: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'function' ? 'function' : v]))
    expect(facts(mine)).toEqual(facts(theirs))
    expect(mine).toMatchObject({
      key: 'koa.sess',
      autoCommit: true,
      overwrite: true,
      httpOnly: true,
      signed: true,
      rolling: false,
      renew: false,
    })
  })

  it('genid: randomUUID by default, after prefix; a given genid wins over prefix', () => {
    const plain: Record<string, any> = {}
    ours(plain as never, new Koa())
    expect(plain.genid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const prefixed: Record<string, any> = { prefix: 'sess:' }
    ours(prefixed as never, new Koa())
    expect(prefixed.genid()).toMatch(/^sess:[0-9a-f-]{36}$/)
    // As koa-session's, the default genid reads the prefix at each call.
    const theirs: Record<string, any> = { prefix: 'sess:' }
    peer(theirs as never, new Koa())
    prefixed.prefix = 'later:'
    theirs.prefix = 'later:'
    expect(prefixed.genid()).toMatch(/^later:[0-9a-f-]{36}$/)
    expect(theirs.genid()).toMatch(/^later:[0-9a-f-]{36}$/)
    const own: Record<string, any> = { prefix: 'sess:', genid: () => 'mine' }
    ours(own as never, new Koa())
    expect(own.genid()).toBe('mine')
  })

  it('accepts a koa-session store and a ContextStore class', () => {
    expect(failure(ours, { store })).toBe('no error')
    expect(
      failure(ours, {
        ContextStore: class {
          get() {}
          set() {}
          destroy() {}
        },
      }),
    ).toBe('no error')
  })
})
