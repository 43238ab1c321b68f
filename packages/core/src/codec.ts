import { SessionError } from './errors'

/**
 * Turns one attribute value into the string a store keeps, and back. `encode` answers
 * `undefined` for a value that is not stored (as JSON drops `undefined`).
 */
export interface Codec {
  encode(value: unknown): string | undefined
  decode(text: string): unknown
}

// Text that could spell a key that reaches Object.prototype when a decoded object is merged
// or assigned, escaped spellings (`"\u005f_proto__"`) included.
const HOSTILE = /__proto__|constructor|\\u/

/**
 * Deletes `__proto__` and `constructor` keys at every depth. A loop with its own stack, not
 * a JSON.parse reviver: the reviver recurses per level and overflows on a value a few
 * thousand levels deep, which JSON.stringify writes without complaint. What this codec
 * writes, it always reads back.
 */
function dropHostileKeys(root: unknown): unknown {
  const pending: unknown[] = [root]
  while (pending.length > 0) {
    const value = pending.pop()
    if (typeof value !== 'object' || value === null) continue
    if (Array.isArray(value)) {
      for (const item of value) if (typeof item === 'object' && item !== null) pending.push(item)
      continue
    }
    const object = value as Record<string, unknown>
    // JSON.parse defines `__proto__` as a plain own key; deleting it never touches the prototype.
    if (Object.hasOwn(object, '__proto__')) Reflect.deleteProperty(object, '__proto__')
    if (Object.hasOwn(object, 'constructor')) Reflect.deleteProperty(object, 'constructor')
    for (const key in object) {
      const child = object[key]
      if (typeof child === 'object' && child !== null) pending.push(child)
    }
  }
  return root
}

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
    // The walk costs a visit per value; only text that could spell a hostile key pays for it.
    const value: unknown = JSON.parse(text)
    return HOSTILE.test(text) ? dropHostileKeys(value) : value
  },
}
