// TypeScript as @fastify/session users write it; checked by `tsc -p tsconfig.json` (the
// assertions are no-ops at run time, the routes run for real).
import fastifyCookie from '@fastify/cookie'
import Fastify from 'fastify'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { fastifySession } from '../../src/index'
import { Client } from '../helpers'
import { listen, SECRET } from './app'

declare module 'fastify' {
  interface Session {
    user: { id: string }
  }
}

describe('typed sessions', () => {
  it("declare module 'fastify' { interface Session { user } } types get, set and properties", async () => {
    const fastify = Fastify()
    fastify.register(fastifyCookie)
    fastify.register(fastifySession, { secret: SECRET, cookie: { secure: false } })
    fastify.get('/login', async (request) => {
      request.session.set('user', { id: 'u1' })
      // @ts-expect-error: the id is a string
      const wrong = () => request.session.set('user', { id: 1 })
      void wrong
      return 'ok'
    })
    fastify.get('/me', async (request) => {
      const id = request.session.get('user')?.id
      expectTypeOf(id).toEqualTypeOf<string | undefined>()
      expectTypeOf(request.session.user).toEqualTypeOf<{ id: string }>()
      expectTypeOf(request.session.sessionId).toEqualTypeOf<string>()
      expectTypeOf(request.session.regenerate(['user'])).toEqualTypeOf<Promise<void>>()
      expectTypeOf(request.session.destroy()).toEqualTypeOf<Promise<void>>()
      return { id: id ?? null }
    })
    const client = new Client(await listen(fastify))
    try {
      await client.get('/login')
      expect((await client.get('/me')).body).toEqual({ id: 'u1' })
    } finally {
      await fastify.close()
    }
  })

  it("@fastify/passport's README types: session.get/set('returnTo') compile, as with the peer", () => {
    // @fastify/passport (imported by passport.test.ts, so in this program) widens
    // `ExpressSessionData` with an index signature; our Session extends it as the peer's does.
    const compileOnly = (session: import('fastify').FastifyRequest['session'], url: string) => {
      session.set('returnTo', url)
      const back: string | undefined = session.get('returnTo')
      return back
    }
    expectTypeOf(compileOnly).toBeFunction()
  })
})
