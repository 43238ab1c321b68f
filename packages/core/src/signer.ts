import { createHmac, timingSafeEqual } from 'node:crypto'
import { SessionError } from './errors'

/** A secret as `crypto.createHmac` accepts it. */
export type Secret = string | Buffer | Uint8Array

/** Signs and verifies values in the `value.mac` form of `cookie-signature`. */
export interface Signer {
  /** `value + '.' + base64(HMAC(value))` without padding. */
  sign(value: string): string
  /** The value when the mac matches any secret, else `false`. */
  unsign(signed: string): string | false
}

/**
 * A signer compatible with express-session's and @fastify/session's cookies. Signs with the
 * first secret and verifies with any, so secrets rotate without logging anyone out;
 * comparison is constant-time.
 *
 * @example
 * ```ts
 * const signer = createSigner(['new-secret', 'old-secret'])
 * signer.unsign(signer.sign('abc')) // 'abc'
 * ```
 */
export function createSigner(secrets: Secret | readonly Secret[], algorithm = 'sha256'): Signer {
  const list = (Array.isArray(secrets) ? [...secrets] : [secrets]) as Secret[]
  if (list.length === 0 || list.some((s) => s == null || s.length === 0)) {
    throw new SessionError('INVALID_OPTIONS', 'secret must be a non-empty string, Buffer or array of them')
  }
  const mac = (value: string, secret: Secret) =>
    createHmac(algorithm, secret).update(value).digest('base64').replace(/=+$/, '')
  const recent = new RecentlySigned()

  return {
    sign(value) {
      const known = recent.get(value)
      if (known !== undefined) return known
      const signed = `${value}.${mac(value, list[0]!)}`
      recent.remember(value, signed)
      return signed
    },
    unsign(signed) {
      const dot = signed.lastIndexOf('.')
      if (dot <= 0) return false
      const value = signed.slice(0, dot)
      const given = Buffer.from(signed.slice(dot + 1))
      for (let i = 0; i < list.length; i++) {
        const expected = Buffer.from(mac(value, list[i]!))
        if (expected.length === given.length && timingSafeEqual(expected, given)) {
          // Signed with the current secret: exactly what `sign(value)` would answer.
          if (i === 0) recent.remember(value, signed)
          return value
        }
      }
      return false
    },
  }
}

/**
 * The signed form of ids verified or signed lately. A rolling cookie re-sends the id the
 * request presented: answering its verified value saves a second HMAC per request. Bounded:
 * the oldest entry goes first. Remember only values verified with the current secret.
 *
 * @example
 * ```ts
 * const recent = new RecentlySigned()
 * if (verifiedWithCurrentSecret) recent.remember(id, cookieValue)
 * const signed = recent.get(id) ?? sign(id)
 * ```
 */
export class RecentlySigned {
  static readonly LIMIT = 4096
  readonly #entries = new Map<string, string>()

  get(value: string): string | undefined {
    return this.#entries.get(value)
  }

  /** Forgets everything (the secrets changed). */
  clear(): void {
    this.#entries.clear()
  }

  remember(value: string, signed: string): void {
    if (this.#entries.has(value)) return
    if (this.#entries.size >= RecentlySigned.LIMIT) {
      this.#entries.delete(this.#entries.keys().next().value!)
    }
    this.#entries.set(value, signed)
  }
}
