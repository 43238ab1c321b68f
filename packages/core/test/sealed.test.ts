import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createSigner,
  isSessionError,
  SealedCookieStore,
  SessionManager,
  type SessionManagerOptions,
} from '../src/index'
import { deriveKeys, open, seal } from '../src/sealed/seal'

const K1 = 'first sealing secret, at least 32 bytes long'
const K2 = 'second sealing secret, at least 32 bytes long!'
const SIGN = 'the cookie signature secret'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

type Handler = (session: import('../src/index').Session, req: IncomingMessage) => void | Promise<void>

/** A plain Node server on a sealed store: `?set=name:value`, `?logout`, `?big=n`. */
async function serve(
  secrets: string[],
  options: Partial<SessionManagerOptions> = {},
  handler: Handler = () => {},
) {
  const store = new SealedCookieStore({ secrets })
  const manager = new SessionManager({ store, secret: SIGN, ...options })
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const session = await manager.open(req)
      const query = new URL(req.url!, 'http://x').searchParams
      const set = query.get('set')
      if (set) session.data[set.split(':')[0]!] = set.split(':')[1]
      if (query.has('big')) session.data.big = 'x'.repeat(Number(query.get('big')))
      if (query.has('logout')) session.destroy()
      await handler(session, req)
      await manager.commit(req, res, session)
      res.end(JSON.stringify({ id: session.id, data: session.data }))
    } catch (err) {
      res.statusCode = isSessionError(err) ? err.statusCode : 500
      res.end(isSessionError(err) ? `${err.code}: ${err.message}` : 'error')
    }
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const request = async (query = '', cookie?: string) => {
    const res = await fetch(`${url}/?${query}`, { headers: cookie ? { cookie } : {} })
    const line = res.headers.get('set-cookie') ?? undefined
    return { status: res.status, text: await res.text(), line, cookie: line?.split(';')[0] }
  }
  return { manager, store, request }
}

const dataOf = (text: string) => JSON.parse(text).data as Record<string, unknown>

describe('sealed cookie: the format', () => {
  it('opens what it sealed; any other key, version or truncation opens nothing', () => {
    const [k1] = deriveKeys([K1])
    const [k2] = deriveKeys([K2])
    const token = seal([k1!], Buffer.from('hello'))
    expect(open([k1!], token, 4000)?.toString()).toBe('hello')
    expect(open([k2!], token, 4000)).toBeUndefined()
    expect(open([k2!, k1!], token, 4000)?.toString()).toBe('hello')
    const bytes = Buffer.from(token, 'base64url')
    const otherVersion = Buffer.from(bytes)
    otherVersion[0] = 2
    expect(open([k1!], otherVersion.toString('base64url'), 4000)).toBeUndefined()
    expect(open([k1!], token.slice(0, -1), 4000)).toBeUndefined()
    expect(open([k1!], `${token}A`, 4000)).toBeUndefined()
    expect(open([k1!], token, token.length - 1)).toBeUndefined()
  })

  it('tampering fuzz: 100,000 bit flips, truncations, reorderings and foreign keys; none opens, none throws', () => {
    const [k1] = deriveKeys([K1])
    const [k2] = deriveKeys([K2])
    const token = seal([k1!], Buffer.from(JSON.stringify({ i: 'x'.repeat(32), a: { user: '"ann"' } })))
    const bytes = Buffer.from(token, 'base64url')
    let accepted = 0
    for (let n = 0; n < 100_000; n++) {
      const copy = Buffer.from(bytes)
      let candidate: string
      switch (n % 4) {
        case 0: {
          const bit = n % (copy.length * 8)
          copy[bit >> 3]! ^= 1 << (bit & 7)
          candidate = copy.toString('base64url')
          break
        }
        case 1:
          candidate = copy.subarray(0, n % copy.length).toString('base64url')
          break
        case 2: {
          const i = n % copy.length
          const j = (n * 7 + 1) % copy.length
          if (copy[i] === copy[j]) continue
          ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
          candidate = copy.toString('base64url')
          break
        }
        default:
          candidate = seal([k2!], Buffer.from(String(n)))
      }
      if (open([k1!], candidate, 4000) !== undefined) accepted++
    }
    expect(accepted).toBe(0)
  })

  it('refuses secrets shorter than 32 bytes', () => {
    expect(() => new SealedCookieStore({ secrets: ['short'] })).toThrow(/32 bytes/)
    expect(() => new SealedCookieStore({ secrets: [] })).toThrow(/at least one secret/)
  })
})

describe('sealed cookie: sessions with no server state', () => {
  it('round trip: the data travels in the cookie and another process opens it', async () => {
    const a = await serve([K1])
    const b = await serve([K1])
    const first = await a.request('set=user:ann')
    expect(first.cookie).toMatch(/^sid=s%3A[\w-]{100,}\.[\w%+/]+$/)
    expect(first.cookie).not.toContain('ann')
    const id = JSON.parse(first.text).id
    const second = await b.request('', first.cookie)
    expect(JSON.parse(second.text)).toEqual({ id, data: { user: 'ann' } })
    // read-only, no touch due: the cookie is not re-sent
    expect(second.line).toBeUndefined()
    const third = await b.request('set=theme:dark', first.cookie)
    expect(dataOf((await a.request('', third.cookie)).text)).toEqual({ user: 'ann', theme: 'dark' })
  })

  it('key rotation: the old key still opens, the new key seals; a server without the new key starts afresh', async () => {
    const old = await serve([K1])
    const rotated = await serve([K2, K1])
    const first = await old.request('set=user:ann')
    const opened = await rotated.request('set=theme:dark', first.cookie)
    expect(dataOf(opened.text)).toEqual({ user: 'ann', theme: 'dark' })
    expect(dataOf((await rotated.request('', opened.cookie)).text)).toEqual({ user: 'ann', theme: 'dark' })
    expect(dataOf((await old.request('', opened.cookie)).text)).toEqual({})
  })

  it('a tampered, truncated or foreign-key cookie is a new empty session, never an error', async () => {
    const app = await serve([K1])
    const foreign = await serve([K2])
    const first = await app.request('set=user:ann')
    // the sealed value inside `sid=s%3A<sealed>.<signature>`
    const value = decodeURIComponent(first.cookie!.slice('sid='.length)).slice(2)
    const token = value.slice(0, value.lastIndexOf('.'))
    // Signed correctly around a damaged or foreign seal: only the seal can refuse them.
    const signer = createSigner(SIGN)
    const cookieFor = (t: string) => `sid=${encodeURIComponent(`s:${signer.sign(t)}`)}`
    const flipped = token.slice(0, 20) + (token[20] === 'A' ? 'B' : 'A') + token.slice(21)
    const other = (await foreign.request('set=user:eve')).cookie!
    const otherToken = decodeURIComponent(other.slice(4))
      .slice(2)
      .replace(/\.[^.]*$/, '')
    for (const bad of [flipped, token.slice(0, 40), token.slice(0, -2), otherToken, 'not-a-seal', '']) {
      const res = await app.request('', cookieFor(bad))
      expect(res.status).toBe(200)
      expect(dataOf(res.text)).toEqual({})
    }
    expect(dataOf((await app.request('', cookieFor(token))).text)).toEqual({ user: 'ann' })
  })

  it('the idle timeout inside the seal: an expired cookie is a new empty session', async () => {
    const app = await serve([K1], { maxInactiveMs: 1000 })
    const realNow = Date.now
    const start = realNow()
    try {
      Date.now = () => start
      const first = await app.request('set=user:ann')
      Date.now = () => start + 999
      expect(dataOf((await app.request('', first.cookie)).text)).toEqual({ user: 'ann' })
      Date.now = () => start + 1000
      expect(dataOf((await app.request('', first.cookie)).text)).toEqual({})
    } finally {
      Date.now = realNow
    }
  })

  it('the absolute timeout holds however often the cookie is re-sealed', async () => {
    const app = await serve([K1], { maxInactiveMs: 1000, absoluteTimeoutMs: 1500, touchAfterMs: 0 })
    const realNow = Date.now
    try {
      const first = await app.request('set=user:ann')
      const start = realNow()
      Date.now = () => start + 800
      const touched = await app.request('', first.cookie)
      expect(touched.line).toBeDefined() // a due touch re-seals
      Date.now = () => start + 1400
      const again = await app.request('', touched.cookie)
      expect(dataOf(again.text)).toEqual({ user: 'ann' })
      Date.now = () => start + 1600
      expect(dataOf((await app.request('', again.cookie ?? touched.cookie)).text)).toEqual({})
    } finally {
      Date.now = realNow
    }
  })

  it('touchAfter: a read-only request re-seals only once the touch is due', async () => {
    const app = await serve([K1], { maxInactiveMs: 60_000, touchAfterMs: 10_000 })
    const first = await app.request('set=user:ann')
    const realNow = Date.now
    try {
      const start = realNow()
      Date.now = () => start + 5_000
      expect((await app.request('', first.cookie)).line).toBeUndefined()
      Date.now = () => start + 10_001
      const due = await app.request('', first.cookie)
      expect(due.line).toBeDefined()
      // the re-sealed cookie carries the extended idle timeout
      Date.now = () => start + 65_000
      expect(dataOf((await app.request('', due.cookie)).text)).toEqual({ user: 'ann' })
      expect(dataOf((await app.request('', first.cookie)).text)).toEqual({})
    } finally {
      Date.now = realNow
    }
  })

  it('a session that would not fit in a cookie fails with SESSION_TOO_LARGE (413), size in the message, no cookie', async () => {
    const app = await serve([K1])
    const fits = await app.request('big=2700')
    expect(fits.status).toBe(200)
    expect(decodeURIComponent(fits.cookie!).length).toBeLessThanOrEqual(4096)
    const over = await app.request('big=3200')
    expect(over.status).toBe(413)
    expect(over.text).toMatch(
      /^SESSION_TOO_LARGE: the sealed session is \d+ bytes, over the cookie limit of 4000/,
    )
    expect(over.line).toBeUndefined()
  })

  it('at the limit and one byte over', async () => {
    const store = new SealedCookieStore({ secrets: [K1] })
    // Find the largest value that fits, then one more character.
    const manager = new SessionManager({ store, secret: SIGN })
    const sizeFor = async (n: number) => {
      const lifecycle = await manager.begin({
        id: undefined,
        cookie: { originalMaxAge: null },
        secure: false,
      })
      lifecycle.session.data.big = 'x'.repeat(n)
      const { cookie } = await lifecycle.commit()
      return cookie?.action === 'set' ? cookie.value!.length : undefined
    }
    let fit = 0
    for (let n = 2700; n < 3000; n++) {
      try {
        if ((await sizeFor(n))! <= 4000) fit = n
      } catch (err) {
        expect(isSessionError(err, 'SESSION_TOO_LARGE')).toBe(true)
        break
      }
    }
    expect(fit).toBeGreaterThan(2700)
    const atLimit = await sizeFor(fit)
    expect(atLimit).toBeGreaterThan(3996)
    expect(atLimit).toBeLessThanOrEqual(4000)
    await expect(sizeFor(fit + 1)).rejects.toMatchObject({ code: 'SESSION_TOO_LARGE' })
  })

  it('logout clears the cookie; revokeAll is NOT_SUPPORTED with the reason', async () => {
    const app = await serve([K1])
    const first = await app.request('set=user:ann')
    const out = await app.request('logout', first.cookie)
    expect(out.line).toMatch(/^sid=;.*Expires=Thu, 01 Jan 1970/)
    // the trade-off: a copy of the cookie taken before the logout still opens
    expect(dataOf((await app.request('', first.cookie)).text)).toEqual({ user: 'ann' })
    await expect(app.manager.repository.destroyAllFor('ann')).rejects.toMatchObject({
      code: 'NOT_SUPPORTED',
      message: expect.stringMatching(/keep no server state/),
    })
  })

  it('changeId keeps the data under a new id; the store holds nothing once requests commit', async () => {
    const app = await serve([K1], {}, (session, req) => {
      if (req.url?.includes('login')) session.changeId()
    })
    const first = await app.request('set=user:ann')
    const before = JSON.parse(first.text).id
    const login = await app.request('login', first.cookie)
    const after = JSON.parse(login.text).id
    expect(after).not.toBe(before)
    expect(JSON.parse((await app.request('', login.cookie)).text)).toEqual({
      id: after,
      data: { user: 'ann' },
    })
    expect(await app.store.load(before)).toBeUndefined()
    expect(await app.store.load(after)).toBeUndefined()
  })

  it('two concurrent requests of one session in one process: both commit, and the later cookie holds both changes', async () => {
    let release!: () => void
    let entered!: () => void
    const inside = new Promise<void>((r) => {
      entered = r
    })
    const gate = new Promise<void>((r) => {
      release = r
    })
    const app = await serve([K1], {}, async (_session, req) => {
      if (req.url?.includes('slow')) {
        entered()
        await gate
      }
    })
    const first = await app.request('set=user:ann')
    const slow = app.request('slow&set=a:1', first.cookie)
    await inside
    const fast = await app.request('set=b:2', first.cookie)
    expect(fast.status).toBe(200)
    release()
    const late = await slow
    expect(late.status).toBe(200)
    // One process holds one copy while requests use it, so their changes merge; across
    // processes nothing can merge them and the browser keeps the last cookie.
    expect(dataOf((await app.request('', late.cookie)).text)).toEqual({ user: 'ann', a: '1', b: '2' })
    expect(dataOf((await app.request('', fast.cookie)).text)).toEqual({ user: 'ann', b: '2' })
    expect(await app.store.load(JSON.parse(first.text).id)).toBeUndefined()
  })
})
