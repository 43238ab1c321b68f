import { SessionError } from './errors'

/**
 * Turns one attribute value into the string a store keeps, and back. `encode` answers
 * `undefined` for a value that is not stored (as JSON drops `undefined`).
 */
export interface Codec {
  encode(value: unknown): string | undefined
  decode(text: string): unknown
}

// Keys that would reach Object.prototype when a decoded object is merged or assigned.
const HOSTILE = /__proto__|constructor|\\u/

const dropHostileKeys = (key: string, value: unknown) =>
  key === '__proto__' || key === 'constructor' ? undefined : value

/**
 * JSON, with `__proto__` and `constructor` keys dropped on decode.
 *
 * @example
 * ```ts
 * jsonCodec.decode('{"__proto__":{"admin":true},"a":1}') // { a: 1 }
 * ```
 */
export const jsonCodec: Codec = {
  encode(value) {
    try {
      return JSON.stringify(value)
    } catch (err) {
      throw new SessionError(
        'ENCODE_FAILED',
        `session attribute cannot be encoded as JSON: ${(err as Error).message}`,
        {
          cause: err,
        },
      )
    }
  },
  decode(text) {
    // The reviver costs a call per value; only text that could spell a hostile key pays for
    // it, escaped spellings (`"\u005f_proto__"`) included.
    return HOSTILE.test(text) ? JSON.parse(text, dropHostileKeys) : JSON.parse(text)
  },
}
