import type { Codec } from './codec'
import type { SessionMeta, SessionRecord } from './types'

// Where sessionkit keeps its own metadata inside a whole-object session.
const META = '__sessionkit'
const DAY = 86_400_000

/** What sessionkit keeps under META: metadata the peers' shape has no place for. */
type OwnMeta = Partial<SessionMeta> & {
  /** The session had no `cookie` attribute; the adapter added one for the store's TTL. */
  cookieAdded?: true
}

/**
 * A connect store's session object as a record. `storeTouches`: the store has `touch`, which
 * moves its expiry without rewriting the object.
 */
export function toRecord(
  id: string,
  object: Record<string, unknown>,
  codec: Codec,
  storeTouches: boolean,
): SessionRecord {
  const own = (object[META] ?? {}) as OwnMeta
  const cookie = (object.cookie ?? {}) as { originalMaxAge?: number | null; expires?: string | Date | null }
  const maxInactiveMs = own.maxInactiveMs ?? cookie.originalMaxAge ?? DAY
  const now = Date.now()
  let expiresAt = cookie.expires ? new Date(cookie.expires).getTime() : now + maxInactiveMs
  // A store with `touch` extends a session's life without rewriting it (connect-redis's
  // EXPIRE), so the stored expiry is stale after a touch and the store is the authority, as
  // express-session trusts it: a session it still returns is live. Its last access is then
  // unknown; it counts as half a lifetime ago, so the next request touches it again.
  if (!(expiresAt > now) && storeTouches) expiresAt = now + maxInactiveMs / 2
  // null prototype: an attribute may be called `__proto__`
  const attributes: Record<string, string> = Object.create(null)
  for (const [name, value] of Object.entries(object)) {
    if (name === META) continue
    // A cookie the adapter added for the connect store's TTL is no attribute of the session.
    if (name === 'cookie' && own.cookieAdded) continue
    // `expires` moves on every touch; keeping it out keeps the attribute stable.
    const plain = name === 'cookie' && value && typeof value === 'object' ? withoutExpires(value) : value
    const text = codec.encode(plain)
    if (text !== undefined) attributes[name] = text
  }
  const record: SessionRecord = {
    id,
    createdAt: own.createdAt ?? expiresAt - maxInactiveMs,
    // Exact while the cookie's expiry is the one written with it; after a store-side touch
    // moved the expiry, derived from it. A derived access more than a minute ahead of now is
    // no access (clock skew between app servers stays within that): it is a `cookie.expires`
    // the app set beyond `maxAge`, and taken as is it would stop every touch until then.
    lastAccessedAt:
      own.lastAccessedAt !== undefined && own.expiresAt === expiresAt
        ? own.lastAccessedAt
        : derivedAccess(now, expiresAt - maxInactiveMs),
    maxInactiveMs,
    expiresAt,
    attributes,
  }
  if (own.principal !== undefined) record.principal = own.principal
  return record
}

/** A record's attributes and metadata as the connect store's session object (the peers' shape). */
export function toObject(
  attributes: Record<string, string>,
  meta: SessionMeta,
  codec: Codec,
): Record<string, unknown> {
  const object: Record<string, unknown> = {}
  for (const [name, text] of Object.entries(attributes)) {
    // defineProperty: an attribute called `__proto__` stays a key, never the object's prototype.
    Object.defineProperty(object, name, {
      value: codec.decode(text),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  const cookieAdded = !Object.hasOwn(attributes, 'cookie')
  const given = object.cookie
  object.cookie = {
    originalMaxAge: null,
    ...(typeof given === 'object' && given !== null ? given : {}),
    expires: new Date(meta.expiresAt).toISOString(),
  }
  const own: OwnMeta = {
    createdAt: meta.createdAt,
    lastAccessedAt: meta.lastAccessedAt,
    maxInactiveMs: meta.maxInactiveMs,
    expiresAt: meta.expiresAt,
  }
  if (meta.principal !== undefined) own.principal = meta.principal
  if (cookieAdded) own.cookieAdded = true
  object[META] = own
  return object
}

function withoutExpires(cookie: object): object {
  const { expires: _expires, ...rest } = cookie as Record<string, unknown>
  return rest
}

const SKEW_ALLOWANCE_MS = 60_000

function derivedAccess(now: number, derived: number): number {
  return derived > now + SKEW_ALLOWANCE_MS ? now : derived
}
