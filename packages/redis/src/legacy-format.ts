import { jsonCodec, type SessionRecord, toConnectSession } from '@sessionkit/core'
import { LEGACY_META, type LegacyMeta } from './legacy'

/** connect-redis' default `ttl` (one day, in seconds), for a record whose cookie has no `expires`. */
const CONNECT_REDIS_TTL_S = 86_400

/** A record as connect-redis stores it: the value to SET and its `EX` in seconds. */
export interface LegacyValue {
  json: string
  ttlSeconds: number
}

/**
 * A record in connect-redis' format, as express-session or @fastify/session would have written
 * it with connect-redis' default JSON serializer: `{ cookie: {...}, ...data }`, so peer servers
 * read it as their own. The cookie is express-session's shape (`originalMaxAge`, `expires`,
 * `secure`, `httpOnly`, `domain`, `path`, `sameSite`), laid over the cookie the record had
 * (`previous`, what the peer wrote), so settings only the peer knows survive. `expires` is the
 * record's expiry whenever the session has a lifetime: @fastify/session regenerates a session
 * whose stored `expires` is past (destroying it, and, with `saveUninitialized: false`, clearing
 * the cookie), so it is never left stale. The TTL is the one connect-redis would set:
 * `expires` rounded up to seconds, else its default day.
 */
export function toLegacyValue(record: SessionRecord, previous: unknown, now: number): LegacyValue {
  const object = toConnectSession(record, jsonCodec) as { cookie: Record<string, unknown> }
  const cookie: Record<string, unknown> = isObject(previous) ? { ...previous } : {}
  for (const [key, value] of Object.entries(object.cookie)) if (value !== undefined) cookie[key] = value
  object.cookie = cookie
  if (record.principal !== undefined) {
    const own: LegacyMeta = { createdAt: record.createdAt, principal: record.principal }
    ;(object as Record<string, unknown>)[LEGACY_META] = own
  }
  const expires = typeof cookie.expires === 'string' ? Date.parse(cookie.expires) : Number.NaN
  const ttlSeconds = Number.isFinite(expires)
    ? Math.ceil((expires - now) / 1000)
    : Math.max(CONNECT_REDIS_TTL_S, Math.ceil((record.expiresAt - now) / 1000))
  return { json: JSON.stringify(object), ttlSeconds }
}

/** The `cookie` object of a stored connect-redis value (undefined when unreadable). */
export function storedCookie(json: string): unknown {
  try {
    return (JSON.parse(json) as { cookie?: unknown })?.cookie
  } catch {
    return undefined
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
