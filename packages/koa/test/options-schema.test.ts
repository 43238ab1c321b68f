import { createRequire } from 'node:module'
import { isSessionError } from '@sessionkit/core'
import Koa from 'koa'
import { describe, expect, it } from 'vitest'
import ours, { SessionOptions } from '../src/index'

interface Schema {
  parse(input: unknown): Record<string, unknown>
  safeParse(input: unknown): { success: boolean; data?: Record<string, unknown>; error?: { issues: unknown } }
  parseAsync(input: unknown): Promise<Record<string, unknown>>
}

/** koa-session 7's exported zod schema. */
const theirs = createRequire(import.meta.url)('koa-session').SessionOptions as Schema
const mine = SessionOptions as unknown as Schema

const store = { get: async () => undefined, set: async () => {}, destroy: async () => {}, extra() {} }

/** A parsed result as comparable facts: key order, values, and functions as their type. */
function facts(value: unknown): unknown {
  if (typeof value === 'function') return 'function'
  if (!value || typeof value !== 'object') return value
  return Object.entries(value).map(([k, v]) => [k, typeof v === 'object' && v ? facts(v) : facts(v)])
}

function outcome(schema: Schema, input: unknown) {
  try {
    return { ok: facts(schema.parse(input)) }
  } catch (err: any) {
    return { message: err.message, issues: JSON.parse(JSON.stringify(err.issues)) }
  }
}

const accepted: [string, unknown][] = [
  ['nothing', {}],
  ['unknown keys and cookie attributes (dropped)', { maxAge: 5, domain: 'x', path: '/a', foo: 1, maxage: 3 }],
  ['known keys given as undefined', { key: undefined, secure: undefined, encode: undefined }],
  ["maxAge 'session'", { maxAge: 'session' }],
  ['maxAge Infinity', { maxAge: Number.POSITIVE_INFINITY }],
  [
    'every flag',
    {
      key: 'k',
      autoCommit: false,
      overwrite: false,
      httpOnly: false,
      signed: false,
      rolling: true,
      renew: true,
    },
  ],
  ['secure and sameSite', { secure: true, sameSite: 'strict' }],
  [
    'functions',
    { genid: () => 'x', prefix: 'p:', valid: () => true, beforeSave: () => {}, decode: () => ({}) },
  ],
  ['externalKey', { externalKey: { get: () => 'k', set: () => {} } }],
  ['ContextStore: anything (the class check comes later, in session())', { ContextStore: () => {} }],
]

const refused: [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['a string', 'x'],
  ['an array', []],
  ['key', { key: 1 }],
  ['key null', { key: null }],
  ['flags', { autoCommit: 'yes', overwrite: 0, httpOnly: 'true', signed: 1, rolling: 'yes', renew: null }],
  ['secure and sameSite null', { sameSite: null, secure: null }],
  ['secure auto', { secure: 'auto' }],
  ['maxAge', { maxAge: 'x' }],
  ['maxAge null', { maxAge: null }],
  ['maxAge NaN', { maxAge: Number.NaN }],
  ['store members', { store: { get: async () => {} } }],
  ['store type', { store: 'redis' }],
  ['externalKey', { externalKey: { get: () => 'x' } }],
  ['decode null', { decode: null }],
  ['encode', { encode: 1 }],
  ['genid', { genid: 'uuid' }],
  ['prefix and valid: issues in the schema order', { valid: true, prefix: 1 }],
  ['beforeSave', { beforeSave: {} }],
  ['several at once', { key: 1, signed: 'no', genid: 2, beforeSave: 3 }],
]

describe('SessionOptions: koa-session 7 exports its options schema; so do we', () => {
  it.each(accepted)('accepts %s with the same keys, order and defaults', (_label, input) => {
    expect(outcome(mine, input)).toEqual(outcome(theirs, input))
  })

  it.each(refused)('refuses %s with the same message and issues', (_label, input) => {
    const expected = outcome(theirs, input)
    expect(expected.issues).toBeDefined()
    expect(outcome(mine, input)).toEqual(expected)
    try {
      mine.parse(input)
    } catch (err) {
      expect(isSessionError(err, 'INVALID_OPTIONS')).toBe(true)
    }
  })

  it('a store comes back with its get, set and destroy (ours: the store itself)', () => {
    const parsed = mine.parse({ store })
    expect(parsed.store).toBe(store)
    const peerStore = theirs.parse({ store }).store as Record<string, unknown>
    for (const member of ['get', 'set', 'destroy']) expect(typeof peerStore[member]).toBe('function')
  })

  it('the default encode and decode are koa-session’s', () => {
    const [a, b] = [mine.parse({}), theirs.parse({})] as Record<string, any>[]
    expect(a!.encode({ user: 'x', n: 1 })).toBe(b!.encode({ user: 'x', n: 1 }))
    const value = b!.encode({ user: 'y' })
    expect(a!.decode(value)).toEqual(b!.decode(value))
  })

  it('safeParse and parseAsync answer as zod does', async () => {
    for (const input of [{}, { key: 1 }, null, { maxAge: 'x', signed: 2 }]) {
      const [a, b] = [mine.safeParse(input), theirs.safeParse(input)]
      expect(a.success).toBe(b.success)
      if (a.success) expect(facts(a.data)).toEqual(facts(b.data))
      else
        expect(JSON.parse(JSON.stringify(a.error!.issues))).toEqual(
          JSON.parse(JSON.stringify(b.error!.issues)),
        )
    }
    expect(facts(await mine.parseAsync({ maxAge: 5 }))).toEqual(facts(await theirs.parseAsync({ maxAge: 5 })))
    await expect(mine.parseAsync({ key: 1 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' })
  })

  it("keeps and checks sessionkit's own options", () => {
    expect(mine.parse({ cookieFormat: 'express', secret: ['s'], touchAfter: 5 })).toMatchObject({
      cookieFormat: 'express',
      secret: ['s'],
      touchAfter: 5,
    })
    expect(mine.safeParse({ cookieFormat: 'json' }).success).toBe(false)
    expect(mine.safeParse({ absoluteTimeout: '1h' }).success).toBe(false)
  })

  it('session() refuses exactly what koa-session refuses, in the same issue order', () => {
    const thrown = (impl: typeof ours, options: object) => {
      try {
        impl({ ...options } as never, new Koa())
        return 'no error'
      } catch (err: any) {
        return JSON.parse(JSON.stringify(err.issues))
      }
    }
    const peer = createRequire(import.meta.url)('koa-session').default as typeof ours
    for (const options of [{ valid: true, prefix: 1 }, { key: undefined }]) {
      expect(thrown(ours, options)).toEqual(thrown(peer, options))
    }
  })
})
