import { describe, expect, it } from 'vitest'
import { makeApp, request, sessionCookie, setCookieLine } from './helpers'

describe('basics', () => {
  it('counts views across requests with one cookie', async () => {
    const app = makeApp({}, (app) => {
      app.get('/', (req, res) => {
        req.session.views = (req.session.views ?? 0) + 1
        // @ts-expect-error views is a number
        if (Math.random() > 2) req.session.views = 'not a number'
        res.send(String(req.session.views))
      })
    })
    const first = await request(app).get('/')
    expect(first.text).toBe('1')
    const cookie = sessionCookie(first)!
    expect(cookie).toMatch(/^connect\.sid=s%3A[\w-]+\.[\w%+/]+$/)
    expect(setCookieLine(first)).toBe(`${cookie}; Path=/; HttpOnly`)
    const second = await request(app).get('/').set('Cookie', cookie)
    expect(second.text).toBe('2')
    // unchanged id, not rolling, browser-session cookie: no new Set-Cookie
    expect(sessionCookie(second)).toBeUndefined()
  })
})

// As an app does it: merged into the package's SessionData, typed on Express's req.session.
declare module '@sessionkit/express' {
  interface SessionData {
    views: number
  }
}
