import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { type Step, sideBySide } from './harness'

const paths = ['/check', '/check/index', '/check/page1', '/check_page1', '/chick/page1', '/chck', '/']

function routes(app: FastifyInstance): void {
  for (const path of paths) {
    app.post(path, async (request) => {
      request.session.foo = 'bar'
      return 'ok'
    })
    app.get(path, async (request) => ({
      foo: request.session?.foo ?? null,
      isSession: typeof request.session?.get === 'function',
    }))
  }
}

const visits = (first: string, cookiePath: string): [string, Record<string, unknown>, Step[]] => [
  `cookie path ${cookiePath}, set at ${first}`,
  { cookie: { secure: false, path: cookiePath } },
  [{ path: first, method: 'POST' }, ...paths.map((path) => ({ path })), { path: '/check?x=/y' }],
]

describe('cookie path matching side by side with @fastify/session', () => {
  it.each([
    visits('/', '/'),
    visits('/check', '/check'),
    visits('/check/index', '/check'),
    visits('/check/index', '/check/'),
  ])('%s', async (_title, options, steps) => {
    const [theirs, ours] = await sideBySide({ touchAfter: 0, ...options }, routes, steps)
    expect(ours).toEqual(theirs)
  })
})
