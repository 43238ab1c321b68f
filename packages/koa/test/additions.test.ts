import type { SessionRepository } from '@sessionkit/core'
import * as core from '@sessionkit/core'
import { MemoryStore } from '@sessionkit/memory'
import Koa from 'koa'
import { describe, expect, expectTypeOf, it } from 'vitest'
import session, {
  isSessionError,
  type MigrationCounts,
  SessionError,
  type SessionErrorCode,
} from '../src/index'

// The sessionkit additions have one name, type and default on Express, Fastify and Koa.
describe('sessionkit additions shared by the three bindings', () => {
  it('with a sessionkit store, middleware.repository is typed as on Express and Fastify (not optional)', () => {
    const app = new Koa()
    app.keys = ['k']
    const store = new MemoryStore()
    const withStore = session({ store }, app)
    expectTypeOf(withStore.repository).toEqualTypeOf<SessionRepository>()
    expectTypeOf(withStore.migration).toEqualTypeOf<MigrationCounts>()
    expect(withStore.repository.store).toBeDefined()
    const argsSwapped = session(app, { store })
    expectTypeOf(argsSwapped.repository).toEqualTypeOf<SessionRepository>()
    // Cookie mode: no store, no repository.
    const cookieMode = session({}, new Koa())
    expectTypeOf(cookieMode.repository).toEqualTypeOf<SessionRepository | undefined>()
    expect(cookieMode.repository).toBeUndefined()
  })

  it("re-exports core's SessionError and isSessionError", () => {
    expect(SessionError).toBe(core.SessionError)
    expect(isSessionError).toBe(core.isSessionError)
    const code: SessionErrorCode = 'STORE_UNAVAILABLE'
    expect(isSessionError(new SessionError(code, 'down'), code)).toBe(true)
  })

  it('an invalid sessionkit option names the option as written, with its unit', () => {
    const store = new MemoryStore()
    expect(() => session({ store, absoluteTimeout: -5 }, new Koa())).toThrow(
      /^absoluteTimeout must be a positive number of ms .*got -5$/,
    )
    expect(() => session({ store, maxAge: 1000, touchAfter: 5000 }, new Koa())).toThrow(
      /^touchAfter must be a whole number of ms from 0 to below the idle timeout \(1000 ms\)/,
    )
  })
})
