import * as core from '@sessionkit/core'
import { afterEach, describe, expect, it } from 'vitest'
import { isSessionError, SessionError, type SessionErrorCode } from '../src/index'
import { Client, type Running, start } from './helpers'

let running: Running | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

// The sessionkit additions have one name, type and default on Express, Fastify and Koa.
describe('sessionkit additions shared by the three bindings', () => {
  it('request.session.getPrincipal() answers what setPrincipal set, on this and later requests', async () => {
    running = await start({}, (app) => {
      app.get('/login', async (request) => {
        const before = request.session.getPrincipal()
        request.session.setPrincipal('alice')
        return { before: before ?? null, after: request.session.getPrincipal() }
      })
      app.get('/who', async (request) => ({ principal: request.session.getPrincipal() ?? null }))
    })
    const client = new Client(running.url)
    expect((await client.get('/login')).body).toEqual({ before: null, after: 'alice' })
    expect((await client.get('/who')).body).toEqual({ principal: 'alice' })
  })

  it("re-exports core's SessionError and isSessionError", () => {
    expect(SessionError).toBe(core.SessionError)
    expect(isSessionError).toBe(core.isSessionError)
    const code: SessionErrorCode = 'STORE_UNAVAILABLE'
    expect(isSessionError(new SessionError(code, 'down'), code)).toBe(true)
  })

  it('an invalid sessionkit option names the option as written, with its unit', async () => {
    await expect(start({ absoluteTimeout: -5 }, () => {})).rejects.toThrow(
      /^absoluteTimeout must be a positive number of ms .*got -5$/,
    )
    await expect(start({ touchAfter: -1 }, () => {})).rejects.toThrow(
      /^touchAfter must be a whole number of ms/,
    )
  })
})
