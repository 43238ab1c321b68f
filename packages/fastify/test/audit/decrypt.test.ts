import { sign } from '@fastify/cookie'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import fastifySession from '../../src/index'
import { build, PLUGINS, peer, recordingStore, SECRET } from './harness'

const ID = 'Qk_XT2K7-clT-x1tVvoY6tIQ83iP72KN'

/** What `decryptSession` gives a plain object (and the callback store saw). */
async function decrypt(
  plugin: unknown,
  value: string,
  options: { cookie?: Record<string, unknown>; seed?: object; getError?: Error } = {},
) {
  const recording = recordingStore()
  if (options.seed) recording.sessions.set(ID, JSON.stringify(options.seed))
  if (options.getError) recording.failures.get = options.getError
  const app = await build(plugin, { secret: SECRET, store: recording.store }, () => {})
  const request: Record<string, any> = {}
  const decryptSession = (app as unknown as { decryptSession: Function }).decryptSession
  const err = await new Promise<unknown>((resolve) => {
    if (options.cookie) decryptSession(value, request, options.cookie, resolve)
    else decryptSession(value, request, resolve)
  })
  await app.close()
  const session = request.session
  return {
    err: err === null ? 'null' : err === undefined ? 'undefined' : (err as Error).message,
    id: session?.sessionId === undefined ? 'none' : session.sessionId === ID ? 'the id' : 'a new id',
    data: session
      ? Object.fromEntries(
          Object.keys(session)
            .filter((k) => k !== 'cookie')
            .map((k) => [k, session[k]]),
        )
      : null,
    // `maxAge` counts down from `expires`: whether it is set, and the configured value.
    maxAge:
      typeof session?.cookie?.maxAge === 'number' ? (session.cookie.originalMaxAge ?? 'from expires') : null,
    calls: recording.calls.map((call) => call.split(' ')[0]),
  }
}

describe.each(PLUGINS)('decryptSession on %s', (name, plugin) => {
  it('a plain request object gets a session: known, unknown, unsigned, expired, failing, custom cookie options', async () => {
    const signed = sign(ID, SECRET)
    const future = new Date(Date.now() + 60_000)
    const past = new Date(Date.now() - 1000)
    expect({
      known: await decrypt(plugin, signed, {
        seed: { a: 1, cookie: { originalMaxAge: null, expires: future } },
      }),
      unknown: await decrypt(plugin, signed),
      unsigned: await decrypt(plugin, ID),
      options: await decrypt(plugin, signed, { cookie: { maxAge: 86400 } }),
      expired: await decrypt(plugin, signed, {
        seed: { a: 1, cookie: { originalMaxAge: 1000, expires: past } },
      }),
      failing: await decrypt(plugin, signed, { getError: new Error('get failed') }),
    }).toEqual({
      known: {
        err: 'undefined',
        id: 'the id',
        data: { a: 1 },
        // A stored `expires` without `originalMaxAge` (the peer's fixed `expires` option): ours
        // keeps no fixed dates, so the loaded cookie is a browser-session one (README).
        maxAge: name === '@sessionkit/fastify' ? null : 'from expires',
        calls: ['get'],
      },
      unknown: { err: 'undefined', id: 'a new id', data: {}, maxAge: null, calls: ['get'] },
      unsigned: { err: 'undefined', id: 'a new id', data: {}, maxAge: null, calls: [] },
      options: { err: 'undefined', id: 'a new id', data: {}, maxAge: 86400, calls: ['get'] },
      expired: expect.objectContaining({
        err: expect.any(String),
        calls: expect.arrayContaining(['get', 'destroy']),
      }),
      failing: { err: 'get failed', id: 'none', data: null, maxAge: null, calls: ['get'] },
    })
  })
})

/**
 * What an app sees when it decrypts a session onto its own object (a WebSocket upgrade, a job
 * carrying the cookie) and then uses it: cookie, id generator argument, `options()`,
 * `regenerate()`, `save()`, `destroy()` and the store's calls.
 */
async function useOnCustomRequest(
  plugin: unknown,
  request: Record<string, any>,
  setup: { plugin?: Record<string, unknown>; decrypt?: Record<string, unknown>; seed?: object },
) {
  const recording = recordingStore()
  if (setup.seed) recording.sessions.set(ID, JSON.stringify(setup.seed))
  const generatedFor: unknown[] = []
  let n = 0
  const idGenerator = (req: unknown) => {
    generatedFor.push(req === request ? 'the custom request' : typeof req)
    return `generated-id-number-${++n}`.padEnd(32, 'x')
  }
  const app = await build(
    plugin,
    { store: recording.store, idGenerator, cookie: { ...setup.plugin } },
    () => {},
  )
  const decryptSession = (app as unknown as { decryptSession: Function }).decryptSession
  const err = await new Promise<unknown>((resolve) =>
    setup.decrypt
      ? decryptSession(sign(ID, SECRET), request, { ...setup.decrypt }, resolve)
      : decryptSession(sign(ID, SECRET), request, resolve),
  )
  const cookie = () => {
    const json = { ...request.session.cookie.toJSON() }
    // Seconds from now, so both runs compare.
    json.expires = json.expires
      ? Math.round((new Date(json.expires).getTime() - Date.now()) / 1000)
      : json.expires
    json.originalExpires = json.originalExpires ? 'a date' : json.originalExpires
    return json
  }
  const seen: Record<string, unknown> = {
    err: String(err),
    loaded: request.session.sessionId === ID,
    cookie: cookie(),
  }
  request.session.options({ sameSite: 'strict' })
  request.session.x = 1
  await request.session.regenerate(['x'])
  seen.regenerated = { id: request.session.sessionId, x: request.session.x, cookie: cookie() }
  await request.session.save()
  seen.saved = request.session.isSaved()
  await request.session.destroy()
  seen.afterDestroy = request.session
  seen.generatedFor = generatedFor
  seen.calls = recording.calls.map((call) => call.replace(ID, 'the id'))
  await app.close()
  return seen
}

describe('decryptSession onto a custom request object, side by side with @fastify/session', () => {
  // The cases are built when the file is collected and run later, one implementation after
  // the other: with a running clock a seeded expiry's seconds-left would differ between them.
  // Only Date is frozen, at the instant the seeds are computed from.
  const T0 = Date.now()
  const later = (ms: number) => new Date(T0 + ms)
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
  })
  afterEach(() => {
    vi.useRealTimers()
  })
  it.each([
    ['a bare object, secure: auto', {}, { plugin: { secure: 'auto' } }],
    ['an HTTPS-looking object, secure: auto', { protocol: 'https' }, { plugin: { secure: 'auto' } }],
    [
      'custom cookie options',
      { protocol: 'https' },
      { plugin: { secure: 'auto', maxAge: 9000 }, decrypt: { maxAge: 5000, domain: 'example.com' } },
    ],
    [
      'a stored session: its own maxAge wins and survives regenerate()',
      {},
      {
        plugin: { maxAge: 9000 },
        decrypt: { maxAge: 5000 },
        seed: { a: 1, cookie: { originalMaxAge: 2000, expires: later(2000) } },
      },
    ],
  ])('%s', async (_title, request, setup) => {
    const theirs = await useOnCustomRequest(peer, { ...request }, setup)
    const ours = await useOnCustomRequest(fastifySession, { ...request }, setup)
    expect(theirs.afterDestroy).toBeNull()
    if ('seed' in setup) {
      // The peer's regenerated cookie inherits the old session's stored expiry as
      // `originalExpires` (informational: its Expires is the fresh one); ours has none.
      const regenerated = theirs.regenerated as { cookie: { originalExpires?: string } }
      expect(regenerated.cookie.originalExpires).toBe('a date')
      regenerated.cookie.originalExpires = undefined
    }
    expect(ours).toEqual(theirs)
  })

  it('a fixed expires among the cookie options: the same Expires; ours reads originalMaxAge as the time left (README)', async () => {
    const setup = { decrypt: { expires: later(100_000) } }
    const theirs = await useOnCustomRequest(peer, {}, setup)
    const ours = await useOnCustomRequest(fastifySession, {}, setup)
    for (const seen of [theirs, ours]) {
      const { cookie, regenerated } = seen as { cookie: Cookie; regenerated: { cookie: Cookie } }
      expect([cookie.expires, regenerated.cookie.expires]).toEqual([100, 100])
    }
    type Cookie = { expires: number; originalMaxAge: number | null; originalExpires?: string }
    const adjust = (seen: Record<string, any>) => {
      for (const cookie of [seen.cookie, seen.regenerated.cookie]) {
        expect(cookie.originalMaxAge).toBeGreaterThan(99_000)
        cookie.originalMaxAge = null
        cookie.originalExpires = 'a date'
      }
      return seen
    }
    expect(adjust(ours)).toEqual(theirs)
  })
})
