import { describe, expect, it } from 'vitest'
import { type Step, sideBySide } from './harness'

const basic: Step[] = [
  { path: '/none' },
  { path: '/get' },
  { path: '/inc' },
  { path: '/get' },
  { path: '/inc' },
  { path: '/set?name=alice&role=admin' },
  { path: '/delete?k=role' },
  { path: '/none' },
  { path: '/null' },
  { path: '/get' },
]

const cases: [string, object, Step[]?][] = [
  ['defaults', {}],
  ['maxAge number', { maxAge: 60_000 }],
  ["maxAge 'session'", { maxAge: 'session' }],
  ['legacy maxage', { maxage: 5_000 }],
  ['key', { key: 'sid' }],
  ['unsigned', { signed: false }],
  [
    'cookie attributes',
    { httpOnly: false, sameSite: 'strict', domain: 'example.test', path: '/', overwrite: false },
  ],
  [
    'priority and partitioned',
    { priority: 'high', partitioned: true, secure: true },
    [{ path: '/inc', headers: { 'X-Forwarded-Proto': 'https' } }],
  ],
  ['secure over http fails as in the peer', { secure: true }, [{ path: '/inc' }]],
  ['rolling', { rolling: true, maxAge: 60_000 }],
  [
    'renew',
    { renew: true, maxAge: 10_000 },
    [{ path: '/inc' }, { path: '/get', advance: 2_000 }, { path: '/get', advance: 4_000 }, { path: '/get' }],
  ],
  [
    'expiry',
    { maxAge: 1_000 },
    [{ path: '/inc' }, { path: '/get', advance: 999 }, { path: '/get', advance: 2 }, { path: '/inc' }],
  ],
  [
    'valid',
    { valid: (_ctx: unknown, data: Record<string, unknown>) => data.views !== 2 },
    [{ path: '/inc' }, { path: '/inc' }, { path: '/inc' }, { path: '/get' }],
  ],
  [
    'beforeSave',
    {
      beforeSave: (ctx: any, session: any) => {
        session.savedAt = ctx.path
      },
    },
    [{ path: '/none' }, { path: '/inc' }, { path: '/get' }, { path: '/inc' }],
  ],
  [
    'encode/decode',
    {
      encode: (data: object) => Buffer.from(JSON.stringify(data)).toString('hex'),
      decode: (value: string) => JSON.parse(Buffer.from(value, 'hex').toString()),
    },
  ],
  [
    'autoCommit false',
    { autoCommit: false },
    [{ path: '/inc' }, { path: '/get' }, { path: '/manual' }, { path: '/get' }, { path: '/manual' }],
  ],
]

const members: [string, Step[]][] = [
  [
    'assignment replaces the data',
    [{ path: '/inc' }, { path: '/assign?v=1' }, { path: '/get' }, { path: '/assign-bad' }],
  ],
  [
    'save() forces a save of a new empty session',
    [{ path: '/save' }, { path: '/get' }, { path: '/save-cb' }],
  ],
  ['regenerate() keeps the data', [{ path: '/inc' }, { path: '/regenerate' }, { path: '/get' }]],
  [
    'maxAge set forces a save and is kept by the session',
    [
      { path: '/maxage?ms=5000' },
      { path: '/get' },
      { path: '/maxage?ms=session' },
      { path: '/get' },
      { path: '/options' },
    ],
  ],
  ['a throwing handler still commits', [{ path: '/throw' }, { path: '/get' }]],
  ['ctx.session = null on a new session clears the cookie', [{ path: '/null' }]],
  [
    "data keys named like sessionkit's methods are plain data",
    [{ path: '/set?principal=p&changeId=c&revokeAll=r&setPrincipal=s' }, { path: '/get' }],
  ],
]

describe('cookie mode: the same responses and cookies as koa-session, byte for byte', () => {
  it.each(cases)('%s', async (_label, options, steps = basic) => {
    const { theirs, ours } = await sideBySide(options, steps)
    expect(ours).toEqual(theirs)
  })

  it.each(members)('%s', async (_label, steps) => {
    const { theirs, ours } = await sideBySide({}, steps)
    expect(ours).toEqual(theirs)
  })
})
