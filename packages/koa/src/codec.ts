/**
 * koa-session's cookie-mode value: the session JSON, base64-encoded. Same bytes both ways, so
 * cookies issued by koa-session stay valid and ours are readable by it.
 */
export function encode(data: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(data)).toString('base64')
}

/** Reads a cookie-mode value; malformed JSON throws a SyntaxError (treated as no session). */
export function decode(value: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(value, 'base64').toString('utf8'))
}

/**
 * The data of a koa-session cookie-mode value (decoded with `decodeValue`), or undefined when
 * the value is not one: then it is a store key. The caller must have verified its signature.
 */
export function cookieModeData(
  value: string,
  decodeValue: (value: string) => Record<string, unknown>,
): Record<string, unknown> | undefined {
  // koa-session's own encoding of what it saves (never an empty object: `_expire` and
  // `_maxAge` at least) is base64 of `{"…`, which starts with `eyJ`; no UUID does (one in 16
  // starts with `e`, and would otherwise throw in a decode on every request).
  if (decodeValue === decode && !value.startsWith('eyJ')) return undefined
  let data: unknown
  try {
    data = decodeValue(value)
  } catch {
    return undefined
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return undefined
  return data as Record<string, unknown>
}
