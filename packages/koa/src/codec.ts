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
