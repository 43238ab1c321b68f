import { SessionError, type SessionRecord } from '@sessionkit/core'

/** express-session's default cookie lifetime when a session has none (browser-session cookie). */
const DAY_MS = 86_400_000

/**
 * Turns a connect-pg-simple row (`sess`: `JSON.stringify` of an express-session session,
 * `{ cookie: {...}, ...data }`) into a record. Every top-level key, `cookie` included, becomes
 * one JSON-encoded attribute, so the express binding sees the same object shape.
 *
 * @param leftMs the time the row's `expire` column leaves, on the database's clock: now + its
 *   `ttl` when the cookie has no `expires`, and moved by connect-pg-simple's `touch`.
 */
export function fromLegacy(id: string, json: string, leftMs: number, now: number): SessionRecord {
  let data: unknown
  try {
    data = JSON.parse(json, (key, value) =>
      key === '__proto__' || key === 'constructor' ? undefined : value,
    )
  } catch (err) {
    throw new SessionError('CORRUPT_RECORD', 'legacy connect-pg-simple row for a session is not JSON', {
      cause: err,
    })
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SessionError('CORRUPT_RECORD', 'legacy connect-pg-simple row is not a session object')
  }
  const cookie = (data as { cookie?: { originalMaxAge?: unknown; expires?: unknown } }).cookie
  const originalMaxAge = typeof cookie?.originalMaxAge === 'number' ? cookie.originalMaxAge : undefined
  const cookieExpires = typeof cookie?.expires === 'string' ? Date.parse(cookie.expires) : Number.NaN
  // The row's `expire` is what connect-pg-simple goes by, and it can be later than the stored
  // `cookie.expires`: its `touch` (express-session with `rolling`, or `resave: false`) updates
  // only the column. So the later of the two; `cookie.expires` keeps its milliseconds when the
  // column (written in whole seconds, rounded up) is no later.
  const fromRow = Number.isFinite(leftMs) ? now + leftMs : Number.NaN
  const expiresAt =
    Number.isFinite(cookieExpires) && !(fromRow > cookieExpires + 1000)
      ? cookieExpires
      : Number.isFinite(fromRow)
        ? fromRow
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
    expiresAt: Math.round(expiresAt),
    attributes,
  }
  if (own.principal) record.principal = own.principal
  return record
}

/**
 * The key sessionkit keeps its own metadata under in a session it writes in connect-pg-simple's
 * format (`legacy.keep`), where the format has no place for it; the peers carry it along as one
 * more session key. The same key as the redis store's.
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
