// What apps do to `request.session` directly (cookie fields, data values) and what each
// plugin then sends and stores, side by side.
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { recordingStore, type Step, sideBySide } from './harness'
import { describeSession } from './routes'

const IN_AN_HOUR = Date.now() + 3_600_000

function routes(app: FastifyInstance): void {
  const session = (request: { session: unknown }) => request.session as Record<string, any>
  const mutations: Record<string, (s: Record<string, any>) => void> = {
    expires: (s) => {
      s.cookie.expires = new Date(IN_AN_HOUR)
    },
    'max-age-null': (s) => {
      s.cookie.maxAge = null
    },
    'same-site': (s) => {
      s.cookie.sameSite = 'strict'
    },
    domain: (s) => {
      s.cookie.domain = 'example.com'
    },
    'http-only': (s) => {
      s.cookie.httpOnly = false
    },
    secure: (s) => {
      s.cookie.secure = true
    },
    'nested-push': (s) => {
      s.list.push('b')
    },
    'set-undefined': (s) => {
      s.a = undefined
    },
    delete: (s) => {
      delete s.a
    },
    date: (s) => {
      s.when = new Date(0)
    },
    'same-value': (s) => {
      s.a = '1'
    },
  }
  app.get('/init', async (request) => {
    Object.assign(session(request), { a: '1', list: ['a'] })
    return describeSession(request)
  })
  app.get('/peek', async (request) => describeSession(request))
  for (const [name, mutate] of Object.entries(mutations)) {
    app.get(`/${name}`, async (request) => {
      mutate(session(request))
      return describeSession(request)
    })
  }
}

const steps = (name: string): Step[] => [{ path: '/init' }, { path: `/${name}` }, { path: '/peek' }]
const same = [
  'expires',
  'same-site',
  'domain',
  'http-only',
  'secure',
  'nested-push',
  'set-undefined',
  'delete',
  'date',
  'same-value',
]
const rollingOptions = { touchAfter: 0, cookie: { secure: false, maxAge: 60_000 } }
const fixedOptions = { rolling: false, cookie: { secure: false, maxAge: 60_000 } }
type Body = { id: string; data: Record<string, unknown>; cookie: Record<string, unknown> }

describe('direct changes to request.session side by side with @fastify/session', () => {
  it.each(same)('%s', async (name) => {
    const [theirs, ours] = await sideBySide(rollingOptions, routes, steps(name), () => recordingStore())
    expect(ours).toEqual(theirs)
  })

  it.each([...same.filter((n) => !['same-site', 'domain', 'http-only'].includes(n))])(
    '%s, rolling: false',
    async (name) => {
      const [theirs, ours] = await sideBySide(fixedOptions, routes, steps(name), () => recordingStore())
      expect(ours).toEqual(theirs)
    },
  )

  it.each([
    ['same-site', 'sameSite', 'strict'],
    ['domain', 'domain', 'example.com'],
    ['http-only', 'httpOnly', false],
  ])('%s alone with rolling: false is saved and re-sent (the peer drops it)', async (name, field, value) => {
    const [theirs, ours] = await sideBySide(fixedOptions, routes, steps(name), () => recordingStore())
    expect(theirs[1]!.calls).toEqual(['get s1'])
    expect(theirs[1]!.setCookie).toEqual([])
    expect((theirs[2]!.body as Body).cookie[field]).not.toEqual(value)
    expect(ours[1]!.calls).toEqual(['get s1', 'set s1 a,cookie,list'])
    expect(ours[1]!.setCookie).toHaveLength(1)
    expect((ours[2]!.body as Body).cookie[field]).toEqual(value)
  })

  it.each([[rollingOptions], [fixedOptions]])(
    'cookie.maxAge = null makes a browser-session cookie (the peer sends one that expires now, and the session is gone next time)',
    async (options) => {
      const [theirs, ours] = await sideBySide(options, routes, steps('max-age-null'), () => recordingStore())
      expect(theirs[1]!.setCookie.every((line) => line.includes('Expires='))).toBe(true)
      expect(ours[1]!.setCookie).toEqual(['sessionId=s1; Path=/; HttpOnly'])
      expect(ours[1]!.calls).toEqual(['get s1', 'set s1 a,cookie,list'])
      expect((ours[2]!.body as Body).id).toBe('s1')
      expect((ours[2]!.body as Body).data).toEqual({ a: '1', list: ['a'] })
      expect((ours[2]!.body as Body).cookie.maxAge).toBeNull()
    },
  )
})
