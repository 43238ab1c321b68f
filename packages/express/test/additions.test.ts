import * as core from '@sessionkit/core'
import { describe, expect, it } from 'vitest'
import session, { isSessionError, SessionError, type SessionErrorCode } from '../src/index'
import { makeApp, request, sessionCookie } from './helpers'

// The sessionkit additions have one name, type and default on Express, Fastify and Koa.
describe('sessionkit additions shared by the three bindings', () => {
  it('req.session.getPrincipal() answers what setPrincipal set, on this and later requests', async () => {
    const app = makeApp({}, (app) => {
      app.post('/login', (req, res) => {
        const before = req.session.getPrincipal()
        req.session.setPrincipal('alice')
        res.json({ before: before ?? null, after: req.session.getPrincipal() })
      })
      app.get('/who', (req, res) => res.json({ principal: req.session.getPrincipal() ?? null }))
    })
    const login = await request(app).post('/login')
    expect(login.body).toEqual({ before: null, after: 'alice' })
    const who = await request(app).get('/who').set('Cookie', sessionCookie(login)!)
    expect(who.body).toEqual({ principal: 'alice' })
  })

  it("re-exports core's SessionError and isSessionError", () => {
    expect(SessionError).toBe(core.SessionError)
    expect(isSessionError).toBe(core.isSessionError)
    const code: SessionErrorCode = 'STORE_UNAVAILABLE'
    expect(isSessionError(new SessionError(code, 'down'), code)).toBe(true)
  })

  it('an invalid sessionkit option names the option as written, with its unit', () => {
    expect(() => session({ secret: 's', absoluteTimeout: -5 })).toThrow(
      /^absoluteTimeout must be a positive number of ms .*got -5$/,
    )
    expect(() => session({ secret: 's', browserSessionTimeout: 1.5 })).toThrow(
      /^browserSessionTimeout must be/,
    )
    expect(() => session({ secret: 's', touchAfter: -1 })).toThrow(/^touchAfter must be a whole number of ms/)
  })
})
