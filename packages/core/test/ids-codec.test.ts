import { describe, expect, it } from 'vitest'
import {
  generateSessionId,
  isSessionError,
  isValidSessionId,
  jsonCodec,
  readCookie,
  SessionError,
  serializeCookie,
} from '../src/index'

describe('session ids', () => {
  it('are 192 random bits in base64url, 32 characters: the form the peers issue', () => {
    const ids = new Set(Array.from({ length: 1000 }, generateSessionId))
    expect(ids.size).toBe(1000)
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/)
      expect(Buffer.from(id, 'base64url')).toHaveLength(24)
    }
  })

  it("accept the peers' ids and reject malformed ones", () => {
    expect(isValidSessionId(generateSessionId())).toBe(true)
    expect(isValidSessionId('KhrLPrPhq4Ai5DjtcYNGXNBFmY3r8YOQ')).toBe(true) // express-session
    expect(isValidSessionId('1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed')).toBe(true) // koa-session
    for (const bad of [
      '',
      'short',
      'a'.repeat(129),
      '../../etc/passwd',
      'abc def ghi jkl mno',
      'ü'.repeat(20),
      42,
      null,
    ]) {
      expect(isValidSessionId(bad)).toBe(false)
    }
  })
})

describe('jsonCodec', () => {
  it('round-trips JSON values', () => {
    const value = { a: [1, 'x', null], b: { c: true }, s: 'ünïcødé 🎉' }
    expect(jsonCodec.decode(jsonCodec.encode(value)!)).toEqual(value)
  })

  it('drops __proto__ and constructor keys at any depth', () => {
    const decoded = jsonCodec.decode(
      '{"__proto__":{"admin":true},"nested":{"constructor":{"prototype":{"x":1}},"__proto__":{"y":2},"ok":1}}',
    ) as Record<string, any>
    expect(Object.keys(decoded)).toEqual(['nested'])
    expect(decoded.nested).toEqual({ ok: 1 })
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
    expect(Object.getPrototypeOf(decoded.nested)).toBe(Object.prototype)
  })

  it('drops them when the JSON spells them with escapes', () => {
    const decoded = jsonCodec.decode(
      '{"\\u005f_proto__":{"admin":true},"\\u0063onstructor":{"x":1},"ok":"\\u00e9"}',
    ) as Record<string, unknown>
    expect(Object.keys(decoded)).toEqual(['ok'])
    expect(decoded.ok).toBe('é')
    expect((Object.assign({}, decoded) as Record<string, unknown>).admin).toBeUndefined()
  })

  it('answers undefined for values JSON drops', () => {
    expect(jsonCodec.encode(undefined)).toBeUndefined()
    expect(jsonCodec.encode(() => 1)).toBeUndefined()
  })

  it('fails with ENCODE_FAILED on values JSON cannot encode', () => {
    const circular: Record<string, unknown> = {}
    circular.self = circular
    for (const value of [circular, 10n]) {
      let caught: unknown
      try {
        jsonCodec.encode(value)
      } catch (err) {
        caught = err
      }
      expect(isSessionError(caught, 'ENCODE_FAILED')).toBe(true)
    }
  })
})

describe('cookies', () => {
  it('serialize every attribute', () => {
    const header = serializeCookie(
      'sid',
      's:abc.def',
      {
        path: '/',
        domain: 'example.com',
        httpOnly: true,
        secure: true,
        sameSite: 'strict',
        partitioned: true,
        priority: 'high',
      },
      { secure: false, expires: new Date(0), maxAgeSeconds: 60 },
    )
    expect(header).toBe(
      'sid=s%3Aabc.def; Max-Age=60; Domain=example.com; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; Partitioned; Priority=High; SameSite=Strict',
    )
  })

  it("resolve 'auto' from the request", () => {
    const auto = { secure: 'auto', sameSite: 'auto' } as const
    expect(serializeCookie('a', 'b', auto, { secure: true })).toBe('a=b; Secure; SameSite=None')
    expect(serializeCookie('a', 'b', auto, { secure: false })).toBe('a=b; SameSite=Lax')
    expect(serializeCookie('a', 'b', { sameSite: true }, { secure: false })).toBe('a=b; SameSite=Strict')
  })

  it('refuse invalid names', () => {
    expect(() => serializeCookie('bad name', 'v', {}, { secure: false })).toThrow(SessionError)
  })

  it('read the first matching cookie, decoded', () => {
    expect(readCookie('a=1; sid=s%3Aabc.d; sid=other', 'sid')).toBe('s:abc.d')
    expect(readCookie('asid=1;sid="q"', 'sid')).toBe('q')
    expect(readCookie('sid=%E0%A4%A', 'sid')).toBeUndefined()
    expect(readCookie(undefined, 'sid')).toBeUndefined()
    expect(readCookie('other=1', 'sid')).toBeUndefined()
  })
})
