import { sign } from '@fastify/cookie'
import { describe, expect, it } from 'vitest'
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

  it('a fixed expires in the past: both send a cookie the browser drops at once', async () => {
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
    // Ours counts down to the date: at most a millisecond from the response.
    expect(ours.expires!.getTime()).toBeLessThanOrEqual(Date.now() + 1000)
    expect({ ...ours, value: '', expires: undefined }).toEqual({ ...theirs, value: '', expires: undefined })
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
