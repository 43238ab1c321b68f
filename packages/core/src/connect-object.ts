import { randomBytes } from 'node:crypto'
import type { Codec } from './codec'
import { SessionError } from './errors'
import type { SessionMeta, SessionRecord } from './types'

// Where sessionkit keeps its own metadata inside a whole-object session.
const META = '__sessionkit'
const DAY = 86_400_000
// Keys a connect store adds to the objects it keeps, no attribute of the session:
// session-file-store's time of the last write.
const STORE_KEYS: ReadonlySet<string> = new Set(['__lastAccess'])

/**
 * What sessionkit keeps under META: metadata the peers' shape has no place for. The access
 * time and expiry are kept in the cookie (`cookie[META]`), which a store's `touch` rewrites.
 */
type OwnMeta = Partial<Pick<SessionMeta, 'createdAt' | 'maxInactiveMs' | 'principal'>> & {
  /** The session had no `cookie` attribute; the adapter added one for the store's TTL. */
  cookieAdded?: true
  /**
   * Attributes kept as their encoded text, because decoding and re-encoding it would not give
   * the same text back (a value that is no JSON, or JSON the codec would rewrite).
   */
  raw?: string[]
  /** A `cookie` attribute whose text is no JSON object, kept here as is. */
  rawCookie?: string
}

type Access = Partial<Pick<SessionMeta, 'lastAccessedAt' | 'expiresAt'>> & {
  /** Random per write: tells a store's `touch` that wrote this cookie from another write of the same instant. */
  write?: string
}
type Cookie = { originalMaxAge?: number | null; expires?: string | Date | null; [META]?: Access }

/**
 * A connect store's session object as a record. `trustStore`: a session the store still
 * returns is live, whatever its `cookie.expires` says (see `fromCallbackStore`'s `expiry`).
 */
export function toRecord(
  id: string,
  object: unknown,
  codec: Codec,
  trustStore: boolean,
  storeName: string,
): SessionRecord {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    throw new SessionError(
      'CORRUPT_RECORD',
      `${storeName}.get answered ${Array.isArray(object) ? 'an array' : typeof object} for session ${id.slice(0, 6)}…, not a session object`,
    )
  }
  const session = object as Record<string, unknown>
  const own = (isObject(session[META]) ? session[META] : {}) as OwnMeta
  const cookie = (isObject(session.cookie) ? session.cookie : {}) as Cookie
  const maxInactiveMs = own.maxInactiveMs ?? positive(cookie.originalMaxAge) ?? DAY
  const now = Date.now()
  const written = cookie.expires ? new Date(cookie.expires).getTime() : Number.NaN
  // A cookie without `expires` (a browser-session cookie of a peer) lives as long as the store keeps it.
  let expiresAt = Number.isFinite(written) ? written : now + maxInactiveMs
  // A store whose `touch` extends its TTL without rewriting the object (connect-redis's
  // EXPIRE) leaves `cookie.expires` stale, so with `trustStore` a session it still returns is
  // live, as express-session trusts it. Its last access is then unknown; it counts as half a
  // lifetime ago, so the next request touches it again.
  if (!(expiresAt > now) && trustStore) expiresAt = now + maxInactiveMs / 2
  const access: Access = isObject(cookie[META]) ? cookie[META] : {}
  const raw = new Set(Array.isArray(own.raw) ? own.raw : [])
  // null prototype: an attribute may be called `__proto__`
  const attributes: Record<string, string> = Object.create(null)
  for (const [name, value] of Object.entries(session)) {
    if (name === META || STORE_KEYS.has(name)) continue
    if (name === 'cookie') {
      if (typeof own.rawCookie === 'string') attributes.cookie = own.rawCookie
      // A cookie the adapter added for the connect store's TTL is no attribute of the session.
      else if (!own.cookieAdded && isObject(value)) {
        // `expires` and the access time move on every touch; keeping them out keeps the attribute stable.
        const text = codec.encode(withoutTouched(value))
        if (text !== undefined) attributes.cookie = text
      }
      continue
    }
    // A peer may have replaced a raw attribute with a value of its own: that value is encoded.
    const text = raw.has(name) && typeof value === 'string' ? value : codec.encode(value)
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
      typeof access.lastAccessedAt === 'number' && access.expiresAt === expiresAt
        ? access.lastAccessedAt
        : derivedAccess(now, expiresAt - maxInactiveMs),
    maxInactiveMs,
    expiresAt,
    attributes,
  }
  if (typeof own.principal === 'string') record.principal = own.principal
  return record
}

/**
 * A record's attributes and metadata as the connect store's session object (the peers'
 * shape): each attribute decoded into the value a peer app reads, unless its text would not
 * survive decoding and re-encoding (then it is kept as the string itself and listed in the
 * metadata); `cookie.expires` is the record's `expiresAt`, from which connect stores derive their TTL.
 */
export function toObject(
  attributes: Record<string, string>,
  meta: SessionMeta,
  codec: Codec,
): Record<string, unknown> {
  const object: Record<string, unknown> = {}
  const raw: string[] = []
  let given: Record<string, unknown> | undefined
  let rawCookie: string | undefined
  for (const [name, text] of Object.entries(attributes)) {
    const decoded = decodeExactly(codec, text)
    if (name === 'cookie') {
      if (decoded.exact && isObject(decoded.value)) given = decoded.value as Record<string, unknown>
      else rawCookie = text
      continue
    }
    // defineProperty: an attribute called `__proto__` stays a key, never the object's prototype.
    Object.defineProperty(object, name, {
      value: decoded.exact ? decoded.value : text,
      enumerable: true,
      writable: true,
      configurable: true,
    })
    if (!decoded.exact) raw.push(name)
  }
  const cookieAdded = given === undefined
  object.cookie = connectCookie(
    // The idle timeout as the cookie's lifetime when the session has no cookie settings:
    // stores that time sessions by it (session-file-store) then keep it as long.
    { originalMaxAge: cookieAdded ? meta.maxInactiveMs : null, ...given },
    meta,
  )
  const own: OwnMeta = { createdAt: meta.createdAt, maxInactiveMs: meta.maxInactiveMs }
  if (meta.principal !== undefined) own.principal = meta.principal
  if (cookieAdded) own.cookieAdded = true
  if (rawCookie !== undefined) own.rawCookie = rawCookie
  if (raw.length > 0) own.raw = raw
  object[META] = own
  return object
}

/**
 * The cookie as express-session's `Cookie` hands it to a store: `expires` written, and a
 * `maxAge` getter (the milliseconds left, what memorystore takes as TTL) that JSON leaves out;
 * plus the access time it goes with, which a peer's `Cookie` drops when it rewrites it.
 */
function connectCookie(settings: Record<string, unknown>, meta: SessionMeta): Record<string, unknown> {
  const { expiresAt, lastAccessedAt } = meta
  const cookie: Record<string, unknown> = {
    ...settings,
    expires: new Date(expiresAt).toISOString(),
    [META]: { lastAccessedAt, expiresAt, write: randomBytes(6).toString('base64url') } satisfies Access,
  }
  Object.defineProperty(cookie, 'maxAge', { get: () => expiresAt - Date.now(), enumerable: false })
  return cookie
}

function decodeExactly(codec: Codec, text: string): { exact: boolean; value?: unknown } {
  try {
    const value = codec.decode(text)
    return codec.encode(value) === text ? { exact: true, value } : { exact: false }
  } catch {
    return { exact: false }
  }
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && value > 0 ? value : undefined
}

function withoutTouched(cookie: object): object {
  const { expires: _expires, [META]: _access, ...rest } = cookie as Record<string, unknown>
  return rest
}

const SKEW_ALLOWANCE_MS = 60_000

function derivedAccess(now: number, derived: number): number {
  return derived > now + SKEW_ALLOWANCE_MS ? now : derived
}
