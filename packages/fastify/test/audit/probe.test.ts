import { describe, expect, it } from 'vitest'
import { recordingStore, type Step, sideBySide } from './harness'
import { sessionRoutes } from './routes'

const s = (path: string, extra: Partial<Step> = {}): Step => ({ path, ...extra })
const insecure = { cookie: { secure: false } }

type Scenario = [string, Record<string, unknown>, Step[], boolean?]
const scenarios: Scenario[] = [
  ['defaults: set, peek, set', insecure, [s('/set?a=1'), s('/peek'), s('/set?b=2'), s('/nothing')]],
  ['store: set, peek, set', insecure, [s('/set?a=1'), s('/peek'), s('/set?b=2'), s('/nothing')], true],
  ['saveUninitialized false', { ...insecure, saveUninitialized: false }, [s('/peek'), s('/set?a=1'), s('/peek'), s('/set?a=1')], true],
  ['rolling false', { ...insecure, rolling: false }, [s('/set?a=1'), s('/peek'), s('/set?b=2')], true],
  ['rolling false, maxAge', { cookie: { secure: false, maxAge: 60_000 }, rolling: false }, [s('/set?a=1'), s('/peek'), s('/set?b=2')], true],
  ['maxAge', { cookie: { secure: false, maxAge: 60_000 } }, [s('/set?a=1'), s('/peek')], true],
  ['expires option', { cookie: { secure: false, expires: new Date(Date.now() + 3_600_000) } }, [s('/set?a=1'), s('/peek')], true],
  ['expires and maxAge', { cookie: { secure: false, expires: new Date(Date.now() + 3_600_000), maxAge: 60_000 } }, [s('/set?a=1'), s('/peek')], true],
  ['cookiePrefix', { ...insecure, cookiePrefix: 's:' }, [s('/set?a=1'), s('/peek')], true],
  ['cookieName', { ...insecure, cookieName: 'sid' }, [s('/set?a=1'), s('/peek')], true],
  ['secret array, rotated', { ...insecure, secret: ['a-new-secret-with-at-least-32-characters', 'a-secret-with-at-least-32-characters!!'] }, [s('/peek')], true],
  ['tampered cookie', insecure, [s('/set?a=1'), s('/peek', { cookie: 'sessionId=abc.def' })], true],
  ['unsigned cookie', insecure, [s('/peek', { cookie: 'sessionId=abcdefabcdefabcdefabcdefabcdefab' })], true],
  ['tampered, saveUninitialized false', { ...insecure, saveUninitialized: false }, [s('/peek', { cookie: 'sessionId=abc.def' })], true],
  ['regenerate keeping keys', insecure, [s('/set?a=1&b=2'), s('/regen?keep=a'), s('/peek')], true],
  ['regenerate', { ...insecure, saveUninitialized: false }, [s('/set?a=1'), s('/regen'), s('/peek')], true],
  ['regenerate (callback)', insecure, [s('/set?a=1'), s('/regen-cb'), s('/peek')], true],
  ['destroy', insecure, [s('/set?a=1'), s('/destroy'), s('/peek')], true],
  ['destroy (callback)', insecure, [s('/set?a=1'), s('/destroy-cb'), s('/peek')], true],
  ['reload', insecure, [s('/set?a=1'), s('/reload?k=x'), s('/peek')], true],
  ['reload (callback) of a new session', insecure, [s('/reload-cb')], true],
  ['save', { ...insecure, saveUninitialized: false }, [s('/save?a=1'), s('/peek'), s('/save')], true],
  ['save (callback)', { ...insecure, saveUninitialized: false }, [s('/save-cb'), s('/peek')], true],
  ['touch, rolling false', { cookie: { secure: false, maxAge: 60_000 }, rolling: false }, [s('/set?a=1'), s('/touch'), s('/peek')], true],
  ['options maxAge', insecure, [s('/set?a=1'), s('/options?maxAge=60000'), s('/peek')], true],
  ['options maxAge, saveUninitialized false', { ...insecure, saveUninitialized: false }, [s('/options?maxAge=60000'), s('/peek')], true],
  ['cookie.maxAge set', insecure, [s('/set?a=1'), s('/maxage?ms=60000'), s('/peek')], true],
  ['assign then set', insecure, [s('/assign?a=1'), s('/assign?a=1'), s('/assign?a=2')], true],
]

describe('side by side with @fastify/session', () => {
  it.each(scenarios)('%s', async (_title, options, steps, withStore) => {
    const [theirs, ours] = await sideBySide(options, sessionRoutes, steps, withStore ? () => recordingStore() : undefined)
    expect(ours).toEqual(theirs)
  })
})
