import { promisify } from 'node:util'
import { gunzip, gzip } from 'node:zlib'
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import type { SessionRecord } from '@sessionkit/core'
import { SessionError } from '@sessionkit/core'
import { FIELD } from './fields'

export { FIELD }

const gzipAsync = promisify(gzip)
const gunzipAsync = promisify(gunzip)

/**
 * Every attribute name is stored with this prefix in the `attrs` map: DynamoDB refuses an empty
 * map key, and the SDK's error deserializer chokes on a `__proto__` key; with a letter in front
 * neither can occur.
 */
const KEY_PREFIX = 'a'

export const mapKey = (name: string): string => KEY_PREFIX + name

/** DynamoDB's item size limit (400 KB). */
export const MAX_ITEM_BYTES = 400 * 1024

/** Values at least this long (UTF-8 bytes) are stored gzipped when that makes them smaller. */
const COMPRESS_FROM_BYTES = 1024

/** The longest partition key value DynamoDB accepts. */
const MAX_KEY_BYTES = 2048

/** Ids DynamoDB could not hold as a key: answered as absent without a request. */
export function isStorableId(id: string): boolean {
  return typeof id === 'string' && id.length > 0 && Buffer.byteLength(id) <= MAX_KEY_BYTES
}

/**
 * One attribute value as stored: a string (S), or when long and compressible, its gzip (B).
 * Compression keeps large sessions under the item limit and cuts the capacity units they cost.
 */
export async function encodeValue(value: string): Promise<AttributeValue> {
  const bytes = Buffer.byteLength(value)
  if (bytes < COMPRESS_FROM_BYTES) return { S: value }
  const packed = await gzipAsync(Buffer.from(value, 'utf8'))
  return packed.length < bytes * 0.9 ? { B: new Uint8Array(packed) } : { S: value }
}

async function decodeValue(name: string, value: AttributeValue | undefined): Promise<string> {
  if (typeof value?.S === 'string') return value.S
  if (value?.B instanceof Uint8Array) {
    try {
      return (await gunzipAsync(value.B)).toString('utf8')
    } catch (err) {
      throw new SessionError('CORRUPT_RECORD', `session attribute ${JSON.stringify(name)} is not gzip data`, {
        cause: err,
      })
    }
  }
  throw new SessionError('CORRUPT_RECORD', `session attribute ${JSON.stringify(name)} is neither S nor B`)
}

export async function encodeAttributes(set: Record<string, string>): Promise<Record<string, AttributeValue>> {
  const names = Object.keys(set)
  const values = await Promise.all(names.map((name) => encodeValue(set[name]!)))
  // null prototype: a name may be `__proto__`
  const map: Record<string, AttributeValue> = Object.create(null)
  names.forEach((name, i) => {
    map[mapKey(name)] = values[i]!
  })
  return map
}

/** Metadata of a whole record (create or rotation): every field present. */
export interface FullMeta {
  createdAt: number
  lastAccessedAt: number
  maxInactiveMs: number
  expiresAt: number
  principal?: string | null
}

export const num = (n: number): AttributeValue => ({ N: String(n) })

/**
 * Added to DynamoDB's TTL. Reads check `expiresAt` themselves, so the TTL only cleans up; the
 * margin keeps an app server whose clock runs behind AWS' (expiry instants come from the app's
 * clock) from having live sessions reaped under it.
 */
export const TTL_GRACE_SECONDS = 3600

/** DynamoDB's TTL attribute: epoch seconds, rounded up, plus the grace margin. */
export const ttlSeconds = (expiresAt: number): number => Math.ceil(expiresAt / 1000) + TTL_GRACE_SECONDS

/** The whole item of a record; `attrs` comes from {@link encodeAttributes}. */
export function toItem(
  id: string,
  meta: FullMeta,
  attrs: Record<string, AttributeValue>,
): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    [FIELD.id]: { S: id },
    [FIELD.createdAt]: num(meta.createdAt),
    [FIELD.lastAccessedAt]: num(meta.lastAccessedAt),
    [FIELD.maxInactiveMs]: num(meta.maxInactiveMs),
    [FIELD.expiresAt]: num(meta.expiresAt),
    [FIELD.ttl]: num(ttlSeconds(meta.expiresAt)),
    [FIELD.attributes]: { M: attrs },
    [FIELD.version]: num(0),
  }
  if (typeof meta.principal === 'string' && meta.principal !== '')
    item[FIELD.principal] = { S: meta.principal }
  return item
}

/** Reads a number field; anything but a safe integer is a record this store did not write. */
function integer(item: Record<string, AttributeValue>, field: string): number {
  const raw = item[field]?.N
  const value = raw === undefined ? Number.NaN : Number(raw)
  if (!Number.isSafeInteger(value)) {
    throw new SessionError('CORRUPT_RECORD', `session item attribute ${field} is missing or not an integer`)
  }
  return value
}

/** The stored expiry, or undefined when the item has none a number can be read from. */
export function storedExpiresAt(item: Record<string, AttributeValue> | undefined): number | undefined {
  const value = Number(item?.[FIELD.expiresAt]?.N)
  return Number.isFinite(value) ? value : undefined
}

/**
 * The live record in an item, or `undefined` when it is at or past `expiresAt` (DynamoDB's TTL
 * deletes lazily, possibly days later). Throws CORRUPT_RECORD for an item this store cannot read.
 */
export async function fromItem(
  item: Record<string, AttributeValue>,
  now: number,
): Promise<SessionRecord | undefined> {
  const id = item[FIELD.id]?.S
  if (typeof id !== 'string') throw new SessionError('CORRUPT_RECORD', 'session item has no string id')
  const expiresAt = integer(item, FIELD.expiresAt)
  if (expiresAt <= now) return undefined
  const record: SessionRecord = {
    id,
    createdAt: integer(item, FIELD.createdAt),
    lastAccessedAt: integer(item, FIELD.lastAccessedAt),
    maxInactiveMs: integer(item, FIELD.maxInactiveMs),
    expiresAt,
    attributes: Object.create(null),
  }
  const principal = item[FIELD.principal]
  if (principal !== undefined) {
    if (typeof principal.S !== 'string')
      throw new SessionError('CORRUPT_RECORD', 'session principal is not a string')
    if (principal.S !== '') record.principal = principal.S
  }
  const attrs = item[FIELD.attributes]
  if (attrs === undefined) return record
  if (typeof attrs.M !== 'object' || attrs.M === null) {
    throw new SessionError('CORRUPT_RECORD', `session item attribute ${FIELD.attributes} is not a map`)
  }
  const entries = Object.entries(attrs.M)
  const values = await Promise.all(
    entries.map(([key, value]) => decodeValue(key.slice(KEY_PREFIX.length), value)),
  )
  entries.forEach(([key], i) => {
    if (!key.startsWith(KEY_PREFIX))
      throw new SessionError('CORRUPT_RECORD', `foreign key ${JSON.stringify(key)} in attrs`)
    record.attributes[key.slice(KEY_PREFIX.length)] = values[i]!
  })
  return record
}

/** DynamoDB's size of one attribute value, per its documented rules (numbers: an upper bound). */
export function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S)
  if (value.N !== undefined) return Math.ceil(value.N.length / 2) + 1
  if (value.B !== undefined) return value.B.byteLength
  // The write-token marks (marks.ts).
  if (value.SS !== undefined) return value.SS.reduce((n, s) => n + Buffer.byteLength(s), 0)
  if (value.M !== undefined) {
    let size = 3
    for (const [key, inner] of Object.entries(value.M)) size += Buffer.byteLength(key) + valueSize(inner) + 1
    return size
  }
  return 1
}

/** Size of a whole item as DynamoDB counts it against the 400 KB limit. */
export function itemSize(item: Record<string, AttributeValue>): number {
  let size = 0
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + valueSize(value)
  return size
}

export function tooLarge(id: string, bytes: number | undefined, cause?: unknown): SessionError {
  const size = bytes === undefined ? 'more than 400 KB' : `${bytes} bytes (${(bytes / 1024).toFixed(1)} KB)`
  return new SessionError(
    'SESSION_TOO_LARGE',
    `session ${id.slice(0, 6)}… would be ${size} as a DynamoDB item, over DynamoDB's limit of ${MAX_ITEM_BYTES} bytes (400 KB) per item`,
    { cause },
  )
}
