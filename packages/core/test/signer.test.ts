import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createSigner, isSessionError } from '../src/index'

// The form cookie-signature (and so express-session) produces, computed independently.
const reference = (value: string, secret: string) =>
  `${value}.${createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '')}`

describe('createSigner', () => {
  it("signs in cookie-signature's form", () => {
    expect(createSigner('keyboard cat').sign('abc')).toBe(reference('abc', 'keyboard cat'))
  })

  it('verifies what it signed and returns the value', () => {
    const signer = createSigner('s1')
    expect(signer.unsign(signer.sign('a.b.c'))).toBe('a.b.c')
  })

  it('signs with the first secret and verifies with any (rotation)', () => {
    const old = createSigner('old')
    const rotated = createSigner(['new', 'old'])
    expect(rotated.sign('id')).toBe(reference('id', 'new'))
    expect(rotated.unsign(old.sign('id'))).toBe('id')
    expect(createSigner('new').unsign(old.sign('id'))).toBe(false)
  })

  it('re-signs an id verified with an old secret with the first one', () => {
    const rotated = createSigner(['new', 'old'])
    expect(rotated.unsign(reference('id', 'old'))).toBe('id')
    expect(rotated.sign('id')).toBe(reference('id', 'new'))
    expect(rotated.unsign(reference('id', 'new'))).toBe('id')
    expect(rotated.sign('id')).toBe(reference('id', 'new'))
  })

  it('signs correctly past its memory of recent ids', () => {
    const signer = createSigner('s')
    for (let i = 0; i < 5000; i++) expect(signer.unsign(reference(`id${i}`, 's'))).toBe(`id${i}`)
    for (const i of [0, 4999]) expect(signer.sign(`id${i}`)).toBe(reference(`id${i}`, 's'))
  })

  it('rejects tampered values and macs', () => {
    const signer = createSigner('s')
    const signed = signer.sign('id')
    expect(signer.unsign(signed.replace('id', 'ie'))).toBe(false)
    const mac = signed.slice(signed.indexOf('.') + 1)
    const flipped = (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1)
    expect(signer.unsign(`id.${flipped}`)).toBe(false)
  })

  it('rejects truncated and malformed input', () => {
    const signer = createSigner('s')
    const signed = signer.sign('id')
    expect(signer.unsign(signed.slice(0, -1))).toBe(false)
    expect(signer.unsign('id')).toBe(false)
    expect(signer.unsign('.abc')).toBe(false)
    expect(signer.unsign('')).toBe(false)
    expect(signer.unsign(`${signed}=`)).toBe(false)
  })

  it('accepts Buffer secrets and other algorithms', () => {
    const signer = createSigner(Buffer.from('buf'), 'sha512')
    expect(signer.unsign(signer.sign('x'))).toBe('x')
    expect(signer.sign('x')).not.toBe(createSigner('buf').sign('x'))
  })

  it('refuses empty secrets with INVALID_OPTIONS', () => {
    for (const bad of [[], '', [''], undefined]) {
      let caught: unknown
      try {
        createSigner(bad as never)
      } catch (err) {
        caught = err
      }
      expect(isSessionError(caught, 'INVALID_OPTIONS')).toBe(true)
    }
  })
})
