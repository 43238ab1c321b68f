// The same request sequences against @fastify/session 11 and ours, over a recording callback
// store (or the default in-process store), comparing status, body, Set-Cookie and store calls.
// Where ours differs on purpose (packages/fastify/README.md, "Differences"), `expected` turns
// the peer's observation into ours, so each difference is asserted exactly, nothing more.
import { describe, expect, it } from 'vitest'
import { type Observed, recordingStore, type Step, sideBySide } from './harness'
import { sessionRoutes } from './routes'

const s = (path: string, extra: Partial<Step> = {}): Step => ({ path, ...extra })
const insecure = { cookie: { secure: false } }
const fail = (message: string, extra: object = {}) => Object.assign(new Error(message), extra)

type CookieBody = { cookie: { originalMaxAge: unknown } }
type Adjust = (theirs: Observed[], ours: Observed[]) => void
interface Store {
  async?: boolean
  /** Fail this method (after `failAfter` successful calls) with this error, or answer `cb(null)`. */
  fail?: ['get' | 'set' | 'destroy', unknown]
  failAfter?: number
}
type Scenario = [
  title: string,
  options: Record<string, unknown>,
  steps: Step[],
  store?: Store,
  expected?: Adjust,
]

/** A commit that failed is not retried while Fastify sends the error response. */
const noRetryOfAFailedCommit =
  (step: number): Adjust =>
  (theirs) => {
    theirs[step]!.calls!.pop()
  }

const scenarios: Scenario[] = [
  // Cookie and data rules.
  ['store: set, peek, set', insecure, [s('/set?a=1'), s('/peek'), s('/set?b=2'), s('/nothing')], {}],
  [
    'saveUninitialized: false',
    { ...insecure, saveUninitialized: false },
    [s('/peek'), s('/set?a=1'), s('/peek'), s('/set?a=1')],
    {},
  ],
  ['rolling: false', { ...insecure, rolling: false }, [s('/set?a=1'), s('/peek'), s('/set?b=2')], {}],
  [
    'rolling: false with maxAge',
    { cookie: { secure: false, maxAge: 60_000 }, rolling: false },
    [s('/set?a=1'), s('/peek'), s('/set?b=2')],
    {},
  ],
  ['maxAge (ms)', { cookie: { secure: false, maxAge: 60_000 } }, [s('/set?a=1'), s('/peek')], {}],
  [
    'maxAge wins over expires',
    { cookie: { secure: false, expires: new Date(Date.now() + 3_600_000), maxAge: 60_000 } },
    [s('/set?a=1'), s('/peek')],
    {},
  ],
  [
    'a fixed expires: the cookie carries it; originalMaxAge counts down to it',
    { cookie: { secure: false, expires: new Date(Date.now() + 3_600_000) } },
    [s('/set?a=1'), s('/peek')],
    {},
    // Ours holds it as a maxAge that counts down to the date (same Expires on every response).
    (theirs, ours) => {
      for (const step of theirs) expect((step.body as CookieBody).cookie.originalMaxAge).toBeNull()
      for (const step of [...theirs, ...ours]) {
        const cookie = (step.body as CookieBody).cookie
        if (cookie.originalMaxAge !== null) expect(cookie.originalMaxAge).toBeGreaterThan(3_500_000)
        cookie.originalMaxAge = 'a date'
      }
    },
  ],
  ['cookiePrefix', { ...insecure, cookiePrefix: 's:' }, [s('/set?a=1'), s('/peek')], {}],
  ['cookieName', { ...insecure, cookieName: 'sid' }, [s('/set?a=1'), s('/peek')], {}],
  [
    'secret array: a cookie of the older secret',
    {
      ...insecure,
      secret: ['a-new-secret-with-at-least-32-characters', 'a-secret-with-at-least-32-characters!!'],
    },
    [s('/peek')],
    {},
  ],
  ['tampered cookie', insecure, [s('/set?a=1'), s('/peek', { cookie: 'sessionId=abc.def' })], {}],
  ['unsigned cookie', insecure, [s('/peek', { cookie: 'sessionId=abcdefabcdefabcdefabcdefabcdefab' })], {}],
  [
    'tampered cookie, saveUninitialized: false',
    { ...insecure, saveUninitialized: false },
    [s('/peek', { cookie: 'sessionId=abc.def' })],
    {},
  ],
  ['secure (default) over HTTP', {}, [s('/set?a=1'), s('/save-cb')], {}],
  ["secure: 'auto' over HTTP", { cookie: { secure: 'auto' } }, [s('/set?a=1'), s('/peek')], {}],
  [
    'httpOnly: false, sameSite strict, domain, path',
    { cookie: { secure: false, httpOnly: false, sameSite: 'strict', domain: 'example.com', path: '/' } },
    [s('/set?a=1'), s('/peek')],
    {},
  ],
  [
    'sameSite none, partitioned, priority',
    { cookie: { secure: false, sameSite: 'none', partitioned: true, priority: 'high' } },
    [s('/set?a=1')],
    {},
  ],
  ['set/get/assign share one namespace', insecure, [s('/assign?a=1'), s('/assign?a=1'), s('/set?a=2')], {}],
  // Session methods.
  ['regenerate([keys])', insecure, [s('/set?a=1&b=2'), s('/regen?keep=a'), s('/peek')], {}],
  [
    'regenerate(), saveUninitialized: false',
    { ...insecure, saveUninitialized: false },
    [s('/set?a=1'), s('/regen'), s('/peek')],
    {},
  ],
  ['regenerate(callback)', insecure, [s('/set?a=1'), s('/regen-cb'), s('/peek')], {}],
  ['destroy()', insecure, [s('/set?a=1'), s('/destroy'), s('/peek')], {}],
  ['destroy(callback): the store’s null', insecure, [s('/set?a=1'), s('/destroy-cb'), s('/peek')], {}],
  ['reload() drops unsaved changes', insecure, [s('/set?a=1'), s('/reload?k=x'), s('/peek')], {}],
  ['reload(callback) of a new session: looked up', insecure, [s('/reload-cb')], {}],
  [
    'save(): written once when nothing changes after it',
    { ...insecure, saveUninitialized: false },
    [s('/save?a=1'), s('/peek'), s('/save')],
    {},
  ],
  [
    'save(callback): no error argument',
    { ...insecure, saveUninitialized: false },
    [s('/save-cb'), s('/peek')],
    {},
  ],
  ['save() of a new session, saveUninitialized: true', insecure, [s('/save?a=1'), s('/save')], {}],
  [
    'touch() with rolling: false',
    { cookie: { secure: false, maxAge: 60_000 }, rolling: false },
    [s('/set?a=1'), s('/touch'), s('/peek')],
    {},
  ],
  ['options({ maxAge })', insecure, [s('/set?a=1'), s('/options?maxAge=60000'), s('/peek')], {}],
  [
    'options({ expires }) on a session without maxAge, then regenerate()',
    insecure,
    [
      s('/set?a=1'),
      s(`/options?expires=${new Date(Date.now() + 7_200_000).toISOString()}`),
      s('/peek'),
      s('/regen'),
    ],
    {},
    // Ours holds the date as the time left until it (README).
    (theirs, ours) => {
      for (const step of theirs.slice(1)) expect((step.body as CookieBody).cookie.originalMaxAge).toBeNull()
      for (const step of ours.slice(1)) {
        const cookie = (step.body as CookieBody).cookie
        expect(cookie.originalMaxAge).toBeGreaterThan(7_000_000)
        cookie.originalMaxAge = null
      }
    },
  ],
  [
    'options() then regenerate() later: the new session keeps the cookie options',
    insecure,
    [s('/set?a=1'), s('/options?maxAge=60000&domain=example.com&sameSite=strict'), s('/regen'), s('/peek')],
    {},
  ],
  [
    'options() and regenerate() in one request',
    insecure,
    [s('/set?a=1'), s('/options-regen?maxAge=60000&path=/&domain=example.com'), s('/peek')],
    {},
  ],
  [
    'regenerate() keeps a stored maxAge over the plugin maxAge',
    { cookie: { secure: false, maxAge: 120_000 } },
    [s('/set?a=1'), s('/options?maxAge=60000'), s('/regen-cb'), s('/peek')],
    {},
  ],
  [
    'options({ maxAge }) alone, saveUninitialized: false',
    { ...insecure, saveUninitialized: false },
    [s('/options?maxAge=60000'), s('/peek')],
    {},
  ],
  ['cookie.maxAge assigned', insecure, [s('/set?a=1'), s('/maxage?ms=60000'), s('/peek')], {}],
  // Store callbacks.
  [
    'asynchronous callbacks',
    insecure,
    [s('/set?a=1'), s('/peek'), s('/regen-cb'), s('/destroy-cb'), s('/peek')],
    { async: true },
  ],
  [
    'get answers cb(null) for a known id',
    insecure,
    [s('/set?a=1'), s('/peek')],
    { failAfter: 1, fail: ['get', 'none'] },
  ],
  [
    'get fails: the request and reload(callback) get its error',
    insecure,
    [s('/set?a=1'), s('/peek'), s('/reload-cb')],
    { failAfter: 1, fail: ['get', fail('get failed', { code: 'EGET' })] },
  ],
  [
    "get fails with the store's statusCode",
    insecure,
    [s('/set?a=1'), s('/peek')],
    { failAfter: 1, fail: ['get', fail('nope', { statusCode: 418 })] },
  ],
  [
    'get ENOENT: a new session',
    insecure,
    [s('/set?a=1'), s('/peek')],
    { failAfter: 1, fail: ['get', fail('no file', { code: 'ENOENT' })] },
  ],
  [
    'get ENOENT in reload(callback): "not found" there too',
    insecure,
    [s('/reload-cb')],
    { fail: ['get', fail('no file', { code: 'ENOENT' })] },
    (theirs) => {
      const body = theirs[0]!.body as { err: unknown }
      expect(body.err).toMatchObject({ code: 'ENOENT' })
      body.err = 'null'
    },
  ],
  [
    'set fails at commit',
    insecure,
    [s('/set?a=1')],
    { fail: ['set', fail('set failed', { code: 'ESET' })] },
    noRetryOfAFailedCommit(0),
  ],
  [
    'set fails in regenerate(callback)',
    insecure,
    [s('/regen-cb')],
    { fail: ['set', fail('set failed')] },
    noRetryOfAFailedCommit(0),
  ],
  [
    'set fails in save()',
    insecure,
    [s('/save-cb')],
    { fail: ['set', fail('set failed')] },
    noRetryOfAFailedCommit(0),
  ],
  [
    'destroy fails in destroy(callback)',
    insecure,
    [s('/set?a=1'), s('/destroy-cb')],
    { failAfter: 1, fail: ['destroy', fail('destroy failed')] },
  ],
  [
    'destroy fails in regenerate(callback)',
    insecure,
    [s('/set?a=1'), s('/regen-cb')],
    { failAfter: 1, fail: ['destroy', fail('destroy failed')] },
  ],
]

/** The recording store, with `how.fail` replacing one method after `failAfter` calls. */
function storeFor(how: Store) {
  const recording = recordingStore({ async: how.async })
  if (!how.fail) return recording
  const [method, error] = how.fail
  const original = recording.store[method] as (...args: unknown[]) => void
  let calls = 0
  ;(recording.store as Record<string, unknown>)[method] = (...args: unknown[]) => {
    if (++calls <= (how.failAfter ?? 0)) return original(...args)
    recording.calls.push(`${method} ${args[0]}`)
    const cb = args[args.length - 1] as (err: unknown) => void
    cb(error === 'none' ? null : error)
  }
  return recording
}

describe('side by side with @fastify/session over a callback store', () => {
  it.each(scenarios)('%s', async (_title, options, steps, how, expected) => {
    const [theirs, ours] = await sideBySide(
      options,
      sessionRoutes,
      steps,
      how ? () => storeFor(how) : undefined,
    )
    expected?.(theirs, ours)
    expect(ours).toEqual(theirs)
  })
})

describe('side by side with @fastify/session over the default in-process store', () => {
  it.each([
    [[s('/set?a=1'), s('/options?maxAge=60000&domain=example.com'), s('/regen?keep=a'), s('/peek')]],
    [[s('/set?a=1'), s('/options-regen?maxAge=60000&sameSite=strict'), s('/peek')]],
  ])('per-request cookie options survive regenerate() (%#)', async (steps) => {
    const [theirs, ours] = await sideBySide(insecure, sessionRoutes, steps)
    expect(ours).toEqual(theirs)
  })

  it('rolling (the default) re-sends the same cookie on every response, as the peer', async () => {
    const steps = [s('/set?a=1'), s('/peek'), s('/set?b=2'), s('/nothing')]
    const [theirs, ours] = await sideBySide(insecure, sessionRoutes, steps)
    expect(theirs[1]!.setCookie).toEqual(theirs[0]!.setCookie)
    expect(ours).toEqual(theirs)
    const [peer, everyRequest] = await sideBySide(
      () => ({ ...insecure, touchAfter: 0 }),
      sessionRoutes,
      steps,
    )
    expect(everyRequest).toEqual(peer)
  })

  it('on the default config (secure cookie over HTTPS, maxAge) the second response carries the first cookie again', async () => {
    const https = { headers: { 'x-forwarded-proto': 'https' } }
    const steps = [s('/set?a=1', https), s('/peek', https), s('/nothing', https)]
    for (const options of [{}, { cookie: { maxAge: 86_400_000 } }]) {
      const [theirs, ours] = await sideBySide(options, sessionRoutes, steps, undefined, { trustProxy: true })
      expect(theirs[1]!.setCookie).toEqual(theirs[0]!.setCookie)
      expect(theirs[2]!.setCookie).toEqual(theirs[0]!.setCookie)
      expect(ours).toEqual(theirs)
    }
  })

  it('callbacks: reload gives null; regenerate, destroy and save give no error argument', async () => {
    const steps = [s('/set?a=1'), s('/reload-cb'), s('/save-cb'), s('/regen-cb'), s('/destroy-cb')]
    const [theirs, ours] = await sideBySide({ ...insecure, touchAfter: 0 }, sessionRoutes, steps)
    expect(theirs.slice(1).map((o) => (o.body as { err: unknown }).err)).toEqual([
      'null',
      'undefined',
      'undefined',
      'undefined',
    ])
    expect(ours).toEqual(theirs)
  })
})
