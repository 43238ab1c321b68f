import { sign } from '@fastify/cookie'
import { afterEach, describe, expect, it, vi } from 'vitest'
import fastifySession from '../../src/index'
import { build, peer, recordingStore, SECRET, type Step, sideBySide } from './harness'
import { sessionRoutes } from './routes'

const s = (path: string, extra: Partial<Step> = {}): Step => ({ path, ...extra })
const https = { 'x-forwarded-proto': 'https' }

type Scenario = [string, Record<string, unknown>, Step[]]
const scenarios: Scenario[] = [
  [
    'secure over https (trusted proxy)',
    {},
    [s('/set?a=1', { headers: https }), s('/peek', { headers: https })],
  ],
  ['x-forwarded-proto http', {}, [s('/set?a=1', { headers: { 'x-forwarded-proto': 'http' } })]],
  ['maxAge 42 ms', { cookie: { maxAge: 42 } }, [s('/set?a=1', { headers: https })]],
  ['sameSite: true', { cookie: { sameSite: true } }, [s('/set?a=1', { headers: https })]],
  [
    "secure: 'true' (a string)",
    { cookie: { secure: 'true', partitioned: true } },
    [s('/set?a=1', { headers: https })],
  ],
  [
    'maxAge with an expires in the past',
    { cookie: { maxAge: 1000, expires: new Date(34214461000) } },
    [s('/set?a=1', { headers: https })],
  ],
  ["secure: 'auto', sameSite none, http", { cookie: { secure: 'auto', sameSite: 'none' } }, [s('/set?a=1')]],
  [
    "secure: 'auto', sameSite none, https",
    { cookie: { secure: 'auto', sameSite: 'none' } },
    [s('/set?a=1', { headers: https })],
  ],
  ['options({ secure: false }) over http', { cookie: { secure: true } }, [s('/options?secure=false&x=1')]],
  [
    'options({ secure: true }) over http',
    { cookie: { secure: false } },
    [s('/options?secure=true'), s('/set?a=1')],
  ],
  [
    'cookie path: a request outside it',
    { cookie: { secure: false, path: '/app' } },
    [s('/set?a=1'), s('/peek')],
  ],
  ['domain', { cookie: { domain: 'localhost' } }, [s('/set?a=1', { headers: https })]],
]

describe('cookie attributes side by side with @fastify/session', () => {
  it.each(scenarios)('%s', async (_title, options, steps) => {
    // touchAfter: 0, the peer's every-request rolling cadence (see the README): attributes only here.
    const [theirs, ours] = await sideBySide({ touchAfter: 0, ...options }, sessionRoutes, steps, undefined, {
      trustProxy: true,
    })
    expect(ours).toEqual(theirs)
  })

  it('a fixed expires in the past: both send that date, so the browser drops the cookie at once', async () => {
    const app = async (plugin: unknown) => {
      const built = await build(
        plugin,
        { secret: SECRET, cookie: { expires: new Date(34214461000) } },
        sessionRoutes,
        {
          trustProxy: true,
        },
      )
      const res = await built.inject({ url: '/set?a=1', headers: https })
      await built.close()
      return res.cookies.find((c) => c.name === 'sessionId')!
    }
    const [theirs, ours] = [await app(peer), await app(fastifySession)]
    expect(theirs.expires!.getTime()).toBe(34214461000)
    expect({ ...ours, value: '' }).toEqual({ ...theirs, value: '' })
  })

  it("a stored cookie.originalMaxAge wins over the plugin's maxAge", async () => {
    const id = 'Qk1hYmNkZWZnaGlqa2xtbm9wcXJzdHV2'
    const steps = [
      s('/peek', { cookie: `sessionId=${encodeURIComponent(sign(id, SECRET))}`, headers: https }),
    ]
    const [theirs, ours] = await sideBySide(
      { cookie: { maxAge: 2000 } },
      sessionRoutes,
      steps,
      () => {
        const recording = recordingStore()
        recording.sessions.set(
          id,
          JSON.stringify({ cookie: { originalMaxAge: 1000, expires: new Date(Date.now() + 1000) } }),
        )
        return recording
      },
      { trustProxy: true },
    )
    expect(ours).toEqual(theirs)
    expect((theirs[0]!.body as { cookie: { originalMaxAge: number } }).cookie.originalMaxAge).toBe(1000)
  })
})

describe('a fixed cookie expires, side by side over time (a frozen clock moved by hand)', () => {
  afterEach(() => {
    vi.useRealTimers()
  })
  const T0 = Date.UTC(2026, 0, 15, 12)
  const MINUTE = 60_000
  // Minutes after T0, and the route; the date is T0 + 60 min.
  const timeline = [
    [0, '/set?a=1'],
    [30, '/peek'],
    [30, '/set?b=2'],
    [45, '/touch'],
    [58, '/regen?keep=a'],
    [59, '/peek'],
    [61, '/peek'],
  ] as const

  /** Each response's Expires (minutes after T0) and the data the request saw. */
  async function observe(
    plugin: unknown,
    callbackStore: boolean,
    steps: readonly (readonly [number, string])[] = timeline,
    cookieOptions: Record<string, unknown> = { secure: false, expires: new Date(T0 + 60 * MINUTE) },
  ) {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const recording = recordingStore()
    const app = await build(
      plugin,
      {
        secret: SECRET,
        cookie: cookieOptions,
        ...(callbackStore ? { store: recording.store } : {}),
      },
      sessionRoutes,
    )
    let jar: string | undefined
    const seen: { expires: number | null; data: unknown; cookieExpires: number | null }[] = []
    try {
      for (const [minute, url] of steps) {
        vi.setSystemTime(T0 + minute * MINUTE)
        const res = await app.inject({ url, headers: jar ? { cookie: jar } : {} })
        const cookie = res.cookies.find((c) => c.name === 'sessionId')
        if (cookie) jar = `sessionId=${cookie.value}`
        const body = res.json() as { data: unknown; cookie: { maxAge: unknown } }
        const minutes = (date: Date | undefined) => (date ? (date.getTime() - T0) / MINUTE : null)
        seen.push({
          expires: minutes(cookie?.expires),
          data: body.data,
          // `request.session.cookie.expires`, as the route saw it (maxAge counts down to it).
          cookieExpires: body.cookie.maxAge === null ? null : 60,
        })
      }
    } finally {
      await app.close()
    }
    return seen
  }

  it.each([
    ['the default store', false],
    ['a callback store', true],
  ])('on %s the date holds on every response, and the session ends there', async (_name, callbackStore) => {
    const theirs = await observe(peer, callbackStore)
    const ours = await observe(fastifySession, callbackStore)
    expect(theirs.slice(0, 6).map((step) => step.expires)).toEqual([60, 60, 60, 60, 60, 60])
    expect(theirs[6]!.data).toEqual({})
    // Past the date the peer's new session gets a browser-session cookie (from `regenerate`
    // on load); ours carries the passed date, as both do for a session made after it.
    expect(theirs[6]!.expires).toBeNull()
    expect(ours[6]!.expires).toBe(60)
    theirs[6]!.expires = 60
    theirs[6]!.cookieExpires = 60
    expect(ours).toEqual(theirs)
  })

  it('a session given its own maxAge leaves the date, as with the peer', async () => {
    const steps = [
      [0, '/set?a=1'],
      [10, '/options?maxAge=600000'],
      [15, '/peek'],
      [20, '/touch'],
    ] as const
    const theirs = await observe(peer, false, steps)
    expect(theirs.map((step) => step.expires)).toEqual([60, 20, 25, 30])
    expect(await observe(fastifySession, false, steps)).toEqual(theirs)
  })

  it('options({ expires }): this response carries the date; later ones renew it as a maxAge (README)', async () => {
    const date = new Date(T0 + 60 * MINUTE).toISOString()
    const steps = [
      [0, '/set?a=1'],
      [10, `/options?expires=${date}`],
      [12, '/peek'],
      [30, '/peek'],
    ] as const
    const theirs = await observe(peer, false, steps, { secure: false })
    const ours = await observe(fastifySession, false, steps, { secure: false })
    expect(theirs.map((step) => step.expires)).toEqual([null, 60, 60, 60])
    // Ours holds the date as the 50 minutes left when it was given, renewed by rolling.
    expect(ours.map((step) => step.expires)).toEqual([null, 60, 62, 80])
    expect(ours.map((step) => step.data)).toEqual(theirs.map((step) => step.data))
  })
})
