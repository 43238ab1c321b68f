// The session object as apps serialise and enumerate it.
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { sideBySide } from './harness'

function routes(app: FastifyInstance): void {
  app.get('/set', async (request) => {
    request.session.set('a', 'one')
    request.session.set('nested', { b: [1, 2] })
    return 'ok'
  })
  app.get('/shape', async (request) => {
    const session = request.session as unknown as Record<string, unknown>
    const json = JSON.parse(JSON.stringify(session))
    const { expires, originalExpires } = json.cookie
    json.cookie.expires = typeof expires
    json.cookie.originalExpires = typeof originalExpires
    return {
      keys: Object.keys(session).sort(),
      json,
      spread: Object.keys({ ...session }).sort(),
      has: ['a', 'cookie', 'sessionId', 'encryptedSessionId', 'save'].map((key) => key in session),
      own: ['a', 'cookie', 'sessionId'].map((key) => Object.hasOwn(session, key)),
    }
  })
}

describe('the session object side by side with @fastify/session', () => {
  it('keys, JSON and spread show the data and the cookie', async () => {
    const options = { touchAfter: 0, cookie: { secure: false, maxAge: 60_000 } }
    const [theirs, ours] = await sideBySide(options, routes, [{ path: '/set' }, { path: '/shape' }])
    expect(ours[1]!.body).toEqual(theirs[1]!.body)
  })
})
