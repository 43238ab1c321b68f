import { createRequire } from 'node:module'
import type { SessionRepository } from '@sessionkit/core'
import Fastify, { type FastifyRequest } from 'fastify'
import { describe, expect, expectTypeOf, it } from 'vitest'
import fastifySession, {
  type FastifySessionObject,
  type FastifySessionOptions,
  MemoryStore,
  fastifySession as named,
  type SessionCookie,
  type SessionStore,
} from '../src/index'

const peer = createRequire(import.meta.url)('@fastify/session') as Record<string, unknown>

declare module 'fastify' {
  interface Session {
    userId: string
  }
}

// Checked by `tsc -p tsconfig.json`; at run time these assertions are no-ops.
describe('types', () => {
  it('types request.session from the Session interface augmentation', () => {
    expectTypeOf<FastifyRequest['session']>().toEqualTypeOf<FastifySessionObject>()
    expectTypeOf<FastifySessionObject['userId']>().toEqualTypeOf<string>()
    expectTypeOf<FastifySessionObject['cookie']>().toEqualTypeOf<SessionCookie>()
    // Never called: only compiled.
    const compileOnly = (session: FastifySessionObject) => {
      expectTypeOf(session.get('userId')).toEqualTypeOf<string | undefined>()
      expectTypeOf(session.set<'userId'>)
        .parameter(1)
        .toEqualTypeOf<string>()
      // @ts-expect-error: a number is not a userId
      const wrong = () => session.set('userId', 42)
      // Unknown keys are rejected unless a plugin widens `ExpressSessionData`, as with
      // @fastify/session: @fastify/passport (loaded by test/apps) adds an index signature.
      void wrong
      expectTypeOf(session.sessionId).toEqualTypeOf<string>()
      expectTypeOf(session.encryptedSessionId).toEqualTypeOf<string>()
      expectTypeOf(session.save()).toEqualTypeOf<Promise<void>>()
      expectTypeOf(session.regenerate(['userId'])).toEqualTypeOf<Promise<void>>()
      expectTypeOf(session.revokeAll({ exceptCurrent: true })).toEqualTypeOf<Promise<number>>()
      expectTypeOf(session.isModified()).toEqualTypeOf<boolean>()
    }
    expectTypeOf(compileOnly).toBeFunction()
  })

  it('types the decorations and the options', () => {
    const app = Fastify()
    expectTypeOf(app.sessionRepository).toEqualTypeOf<SessionRepository>()
    expectTypeOf(app.decryptSession).toBeFunction()
    expectTypeOf(named).toEqualTypeOf(fastifySession)
    expectTypeOf<FastifySessionOptions['secret']>().toExtend<string | (string | Buffer)[] | object>()
    const compileOnly = () => {
      app.register(fastifySession, { secret: 'x'.repeat(32), cookie: { maxAge: 1000, secure: 'auto' } })
      // @ts-expect-error: secret is required
      app.register(fastifySession, {})
    }
    expectTypeOf(compileOnly).toBeFunction()
  })

  it("has the peer's namespace: its types and values through the plugin's name", () => {
    // Values, as the peer's module.exports has them.
    for (const name of ['fastifySession', 'default'] as const) {
      expect(peer[name]).toBe(peer)
      expect(fastifySession[name]).toBe(fastifySession)
    }
    expect(new fastifySession.MemoryStore()).toBeInstanceOf(MemoryStore)
    // Types, as the peer's `declare namespace fastifySession` has them.
    expectTypeOf<fastifySession.FastifySessionOptions>().toEqualTypeOf<FastifySessionOptions>()
    expectTypeOf<fastifySession.FastifySessionObject>().toEqualTypeOf<FastifySessionObject>()
    expectTypeOf<fastifySession.SessionStore>().toEqualTypeOf<SessionStore>()
    expectTypeOf<fastifySession.MemoryStore>().toEqualTypeOf<MemoryStore>()
    expectTypeOf<MemoryStore>().toExtend<fastifySession.SessionStore>()
  })
})
