import { jsonCodec, type SessionRecord, toConnectSession } from '@sessionkit/core'
import { LEGACY_META, type LegacyMeta } from './legacy'

/** connect-pg-simple's default `ttl` (one day, in seconds), for a session whose cookie has no `expires`. */
const CONNECT_PG_SIMPLE_TTL_S = 86_400

/** A session as connect-pg-simple stores it: the `sess` JSON and the `expire` instant (epoch seconds). */
export interface LegacyValue {
  json: string
  expireSeconds: number
}

/**
 * A record in connect-pg-simple's format, as express-session would have written it:
 * `{ cookie: {...}, ...data }`, so peer servers read it as their own. The cookie is
 * express-session's shape, laid over the cookie the row had (`previous`, what the peer wrote), so
 * settings only the peer knows survive; its `expires` is the record's expiry whenever the session
 * has a lifetime. `expire` is what connect-pg-simple would write: `expires` rounded up to
 * seconds, else now + its default day (or the record's expiry when later).
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
  const expireSeconds = Number.isFinite(expires)
    ? Math.ceil(expires / 1000)
    : Math.ceil(Math.max(now + CONNECT_PG_SIMPLE_TTL_S * 1000, record.expiresAt) / 1000)
  return { json: JSON.stringify(object), expireSeconds }
}

/** The `cookie` object of a stored `sess` (undefined when unreadable). */
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
