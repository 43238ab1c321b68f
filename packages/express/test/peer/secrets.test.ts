/**
 * The `secret` option read on every request, as express-session reads it: an app drops a
 * leaked secret, or puts a new one first, by mutating the array it passed. Side by side.
 */
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { cookieOf, createServer, get, IMPLEMENTATIONS, sidOf } from './harness'

const signature = createRequire(import.meta.url)('cookie-signature')
const cookieFor = (sid: string, secret: string) =>
  `connect.sid=${encodeURIComponent(`s:${signature.sign(sid, secret)}`)}`

describe.each(IMPLEMENTATIONS)('%s: a mutated secret array', (_name, impl) => {
  /** A server on `secrets`: `/login` writes a user, `/` answers it. */
  const serverOn = (secrets: string[]) =>
    createServer(impl, { secret: secrets, resave: false, saveUninitialized: false }, (req, res) => {
      if (req.url === '/login') req.session.user = 'ann'
      res.end(String(req.session.user ?? 'nobody'))
    })

  it('a popped secret no longer verifies; the secrets left still do', async () => {
    const secrets = ['current', 'leaked']
    const s = serverOn(secrets)
    const sid = sidOf(await get(s, '/login'))
    expect((await get(s, '/', cookieFor(sid, 'leaked'))).text).toBe('ann')
    secrets.pop()
    expect((await get(s, '/', cookieFor(sid, 'leaked'))).text).toBe('nobody')
    expect((await get(s, '/', cookieFor(sid, 'current'))).text).toBe('ann')
  })

  it('an unshifted secret signs new cookies, the previous first one still verifies', async () => {
    const secrets = ['first']
    const s = serverOn(secrets)
    const before = await get(s, '/login')
    expect(cookieOf(before)).toBe(cookieFor(sidOf(before), 'first'))
    secrets.unshift('fresh')
    const after = await get(s, '/login')
    expect(cookieOf(after)).toBe(cookieFor(sidOf(after), 'fresh'))
    expect((await get(s, '/', cookieOf(before))).text).toBe('ann')
    // Replaced in place (same length): the old value is gone, the new one signs.
    secrets[0] = 'other'
    expect((await get(s, '/', cookieOf(after))).text).toBe('nobody')
    const third = await get(s, '/login')
    expect(cookieOf(third)).toBe(cookieFor(sidOf(third), 'other'))
  })

  it('a Buffer secret changed in place is read as it is now', async () => {
    const key = Buffer.from('aaaa')
    const s = serverOn([key as unknown as string])
    const first = await get(s, '/login')
    key.write('bbbb')
    expect((await get(s, '/', cookieOf(first))).text).toBe('nobody')
  })
})
