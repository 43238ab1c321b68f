import { sign } from '@fastify/cookie'
import { describe, expect, it } from 'vitest'
import { build, PLUGINS, recordingStore, SECRET } from './harness'

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
