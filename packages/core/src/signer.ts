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

  return {
    sign: (value) => `${value}.${mac(value, list[0]!)}`,
    unsign(signed) {
      const dot = signed.lastIndexOf('.')
      if (dot <= 0) return false
      const value = signed.slice(0, dot)
      const given = Buffer.from(signed.slice(dot + 1))
      for (const secret of list) {
        const expected = Buffer.from(mac(value, secret))
        if (expected.length === given.length && timingSafeEqual(expected, given)) return value
      }
      return false
    },
  }
}
