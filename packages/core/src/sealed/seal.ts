import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import { SessionError } from '../errors'
import type { Secret } from '../signer'

/** The sealed format's version: the first byte of every token, so a later format can coexist. */
export const SEAL_VERSION = 1
const HEADER = 2 // version byte, key id byte
const IV = 12
const TAG = 16
/** Fixed HKDF salt and info: the same secret gives the same key on every server and framework. */
const SALT = Buffer.from('sessionkit sealed cookie v1')
const INFO = Buffer.from('aes-256-gcm session seal')

/** One derived key: the id byte written into tokens it seals, and the AES-256 key. */
export interface SealKey {
  readonly id: number
  readonly key: Buffer
}

/**
 * AES-256-GCM keys derived with HKDF-SHA256 from the app's secrets, in order: the first seals,
 * every one opens (rotation without logging anyone out). The key id is one byte of a hash of
 * the derived key, so it names the key without revealing it; two secrets whose ids collide are
 * both tried.
 */
export function deriveKeys(secrets: readonly Secret[]): SealKey[] {
  if (secrets.length === 0)
    throw new SessionError('INVALID_OPTIONS', 'sealed cookies need at least one secret')
  return secrets.map((secret) => {
    const material = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret)
    if (material.length < 32) {
      throw new SessionError('INVALID_OPTIONS', 'each sealed-cookie secret must be at least 32 bytes')
    }
    const key = Buffer.from(hkdfSync('sha256', material, SALT, INFO, 32))
    const id = createHash('sha256').update(key).digest()[0]!
    return { id, key }
  })
}

/** `plaintext` sealed with the first key: base64url of version, key id, IV, ciphertext, tag. */
export function seal(keys: readonly SealKey[], plaintext: Buffer): string {
  const { id, key } = keys[0]!
  const header = Buffer.from([SEAL_VERSION, id])
  const iv = randomBytes(IV)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  // The header is authenticated too: a token cannot be re-labelled with another version or key.
  cipher.setAAD(header)
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([header, iv, body, cipher.getAuthTag()]).toString('base64url')
}

const TOKEN = /^[A-Za-z0-9_-]+$/

/** The plaintext of a token one of `keys` sealed, or `undefined` (tampered, truncated, foreign key, other version). */
export function open(keys: readonly SealKey[], token: string, maxChars: number): Buffer | undefined {
  if (token.length > maxChars || !TOKEN.test(token)) return undefined
  const bytes = Buffer.from(token, 'base64url')
  if (bytes.length < HEADER + IV + TAG + 1 || bytes[0] !== SEAL_VERSION) return undefined
  const header = bytes.subarray(0, HEADER)
  const iv = bytes.subarray(HEADER, HEADER + IV)
  const body = bytes.subarray(HEADER + IV, bytes.length - TAG)
  const tag = bytes.subarray(bytes.length - TAG)
  for (const { id, key } of keys) {
    if (id !== bytes[1]) continue
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG })
      decipher.setAAD(header)
      decipher.setAuthTag(tag)
      return Buffer.concat([decipher.update(body), decipher.final()])
    } catch {
      // Not this key (or tampered): try the next key with the same id byte.
    }
  }
  return undefined
}
