import { SessionError, type SessionRecord } from '@sessionkit/core'

/** express-session's default cookie lifetime when a session has none (browser-session cookie). */
const DAY_MS = 86_400_000

/**
 * Turns a connect-redis value (`JSON.stringify` of an express-session session:
 * `{ cookie: {...}, ...data }`) into a record. Every top-level key, `cookie` included,
 * becomes one JSON-encoded attribute, so the express binding sees the same object shape.
 *
 * @param pttl the key's PTTL in ms (negative when it has none), used when the cookie has no
 *   `expires` (connect-redis then applied its `ttl` option to the key).
 */
export function fromLegacy(id: string, json: string, pttl: number, now: number): SessionRecord {
  let data: unknown
  try {
    data = JSON.parse(json, (key, value) =>
      key === '__proto__' || key === 'constructor' ? undefined : value,
    )
  } catch (err) {
    throw new SessionError('CORRUPT_RECORD', `legacy connect-redis record for a session is not JSON`, {
      cause: err,
    })
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SessionError('CORRUPT_RECORD', 'legacy connect-redis record is not a session object')
  }
  const cookie = (data as { cookie?: { originalMaxAge?: unknown; expires?: unknown } }).cookie
  const originalMaxAge = typeof cookie?.originalMaxAge === 'number' ? cookie.originalMaxAge : undefined
  const cookieExpires = typeof cookie?.expires === 'string' ? Date.parse(cookie.expires) : Number.NaN
  // A `cookie.expires` already past on a key that still lives is stale, not expired:
  // connect-redis' `touch` (express-session with `rolling`, or `resave: false`) extends only
  // the key's TTL, and express-session trusts a session its store still returns.
  const expiresAt =
    Number.isFinite(cookieExpires) && (cookieExpires > now || !(pttl > 0))
      ? cookieExpires
      : pttl > 0
        ? now + pttl
        : now + (originalMaxAge ?? DAY_MS)
  const own = ownMeta((data as Record<string, unknown>)[LEGACY_META])
  const attributes: Record<string, string> = Object.create(null)
  for (const [name, value] of Object.entries(data)) {
    if (value !== undefined && name !== LEGACY_META) attributes[name] = JSON.stringify(value)
  }
  const record: SessionRecord = {
    id,
    createdAt: own.createdAt ?? now,
    lastAccessedAt: now,
    maxInactiveMs: originalMaxAge ?? DAY_MS,
    expiresAt,
    attributes,
  }
  if (own.principal) record.principal = own.principal
  return record
}

/**
 * The key sessionkit keeps its own metadata under in a record it writes in connect-redis'
 * format (`legacy.keep`), where the format has no place for it; the peers carry it along as
 * one more session key, as they do for core's connect-store adapter.
 */
export const LEGACY_META = '__sessionkit'

export interface LegacyMeta {
  createdAt?: number
  principal?: string
}

function ownMeta(value: unknown): LegacyMeta {
  if (typeof value !== 'object' || value === null) return {}
  const { createdAt, principal } = value as Record<string, unknown>
  const own: LegacyMeta = {}
  if (Number.isSafeInteger(createdAt)) own.createdAt = createdAt as number
  if (typeof principal === 'string' && principal !== '') own.principal = principal
  return own
}
