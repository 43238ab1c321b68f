import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../memory/src/index.ts'
import {
  createSigner,
  HeaderIdResolver,
  isSessionError,
  SessionManager,
  type SessionManagerOptions,
} from '../src/index'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

type Handler = (session: import('../src/index').Session, req: IncomingMessage) => void | Promise<void>

/** A plain Node server whose handler runs between `open` and `commit`. */
async function serve(options: Partial<SessionManagerOptions>, handler: Handler) {
  const store = new MemoryStore()
  const manager = new SessionManager({ store, secret: 'test secret', ...options })
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const session = await manager.open(req)
      await handler(session, req)
      const result = await manager.commit(req, res, session)
      res.setHeader('x-result', result)
      res.end(JSON.stringify(session.data))
    } catch (err) {
      res.statusCode = isSessionError(err) ? err.statusCode : 500
      res.end(isSessionError(err) ? err.code : 'error')
    }
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const request = (headers: Record<string, string> = {}) => fetch(url, { headers })
  return { manager, store, request }
}

const cookieOf = (res: Response) => res.headers.get('set-cookie')?.split(';')[0] ?? ''

describe('SessionManager over plain Node http', () => {
  it('creates a session, sets a signed cookie, and loads it on the next request', async () => {
    const { request } = await serve({}, (s) => {
      s.data.n = ((s.data.n as number) ?? 0) + 1
    })
    const first = await request()
    expect(first.headers.get('x-result')).toBe('created')
    const setCookie = first.headers.get('set-cookie')!
    expect(setCookie).toMatch(
      /^sid=s%3A[A-Za-z0-9_-]{32}\.[A-Za-z0-9%]{43,}; Path=\/; Expires=.+; HttpOnly; SameSite=Lax$/,
    )
    const second = await request({ cookie: cookieOf(first) })
    expect(await second.json()).toEqual({ n: 2 })
    expect(second.headers.get('x-result')).toBe('saved')
  })

  it('sends no cookie and writes nothing for a session nobody used', async () => {
    const { request, store } = await serve({}, () => {})
    const res = await request()
    expect(res.headers.get('set-cookie')).toBeNull()
    expect(res.headers.get('x-result')).toBe('skipped')
    expect(store.size).toBe(0)
  })

  it('replaces a tampered or unknown cookie with a new session and clears the stale one', async () => {
    const { request } = await serve({}, (s) => {
      s.data.seen = true
    })
    const first = await request()
    const cookie = cookieOf(first)
    const tampered = `${cookie.slice(0, -3)}abc`
    const res = await request({ cookie: tampered })
    expect(cookieOf(res)).not.toBe(cookie)
    expect(res.headers.get('x-result')).toBe('created')

    const unknown = createSigner('test secret').sign('A'.repeat(43))
    const other = await request({ cookie: `sid=s%3A${encodeURIComponent(unknown)}` })
    expect(other.headers.get('x-result')).toBe('created')
    expect(cookieOf(other)).not.toContain('AAAAAAAA')
  })

  it('clears the cookie when the session is destroyed', async () => {
    let logout = false
    const { request } = await serve({}, (s) => {
      if (logout) s.destroy()
      else s.data.user = 'ann'
    })
    const cookie = cookieOf(await request())
    logout = true
    const res = await request({ cookie })
    expect(res.headers.get('x-result')).toBe('destroyed')
    expect(res.headers.get('set-cookie')).toMatch(/^sid=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT/)
    logout = false
    expect((await request({ cookie })).headers.get('x-result')).toBe('created')
  })

  it('re-sends the cookie on every response when rolling, with a touch the store confirmed', async () => {
    const { request } = await serve({ rolling: true, touchAfterMs: 60_000 }, (s) => {
      s.data.a ??= 1
    })
    const cookie = cookieOf(await request())
    const res = await request({ cookie })
    // A re-send needs the store's word that the id still exists (a rotation may have moved it).
    expect(res.headers.get('x-result')).toBe('touched')
    expect(cookieOf(res)).toBe(cookie)
  })

  it('marks the cookie Secure for HTTPS behind a trusted proxy only', async () => {
    const trusting = await serve({ trustProxy: true }, (s) => {
      s.data.a = 1
    })
    expect((await trusting.request({ 'x-forwarded-proto': 'https' })).headers.get('set-cookie')).toContain(
      '; Secure',
    )
    const wary = await serve({}, (s) => {
      s.data.a = 1
    })
    expect((await wary.request({ 'x-forwarded-proto': 'https' })).headers.get('set-cookie')).not.toContain(
      'Secure',
    )
  })

  it('carries the id in a header for API clients', async () => {
    const { request } = await serve({ resolver: new HeaderIdResolver() }, (s) => {
      s.data.n = ((s.data.n as number) ?? 0) + 1
    })
    const first = await request()
    const id = first.headers.get('x-session-id')!
    expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(await (await request({ 'x-session-id': id })).json()).toEqual({ n: 2 })
  })

  it('fails the request with 503 when the store is down, never a silent new session', async () => {
    const { request, store } = await serve({}, (s) => {
      s.data.a = 1
    })
    const cookie = cookieOf(await request())
    await store.close()
    const res = await request({ cookie })
    expect(res.status).toBe(503)
    expect(await res.text()).toBe('STORE_UNAVAILABLE')
  })
})
