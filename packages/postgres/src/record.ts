import { SessionError, type SessionMeta, type SessionMetaChange, type SessionRecord } from '@sessionkit/core'

/**
 * Attribute values in the JSONB object. PostgreSQL's text and JSONB cannot hold U+0000, which an
 * encoded value may contain: such a value is stored as the array of its NUL-separated pieces
 * (`"a\u0000b"` → `["a", "b"]`); every other value is a plain JSON string. Names are keys as they are.
 */
export function encodeAttributes(attributes: Record<string, string>): string {
  const out: Record<string, string | string[]> = Object.create(null)
  for (const name of Object.keys(attributes)) {
    const value = attributes[name]!
    out[name] = value.includes('\u0000') ? value.split('\u0000') : value
  }
  return JSON.stringify(out)
}

function decodeAttributes(text: unknown): Record<string, string> {
  let parsed: unknown
  try {
    parsed = typeof text === 'string' ? JSON.parse(text) : undefined
  } catch (err) {
    throw new SessionError('CORRUPT_RECORD', 'session attributes are not JSON', { cause: err })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SessionError('CORRUPT_RECORD', 'session attributes are not a JSON object')
  }
  // null prototype: an attribute may be called `__proto__` (JSON.parse made it an own key).
  const attributes: Record<string, string> = Object.create(null)
  for (const name of Object.keys(parsed)) {
    const value = (parsed as Record<string, unknown>)[name]
    if (typeof value === 'string') attributes[name] = value
    else if (Array.isArray(value) && value.length > 1 && value.every((v) => typeof v === 'string'))
      attributes[name] = value.join('\u0000')
    else throw new SessionError('CORRUPT_RECORD', `session attribute ${JSON.stringify(name)} is not a string`)
  }
  return attributes
}

function integer(row: Record<string, unknown>, column: string): number {
  const raw = row[column]
  // A string by default (int8); a number or bigint if the app installed its own type parser.
  const value =
    typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'bigint' ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(value)) {
    throw new SessionError('CORRUPT_RECORD', `session column ${column} is not an integer`)
  }
  return value
}

/** A row of `COLUMNS` back to a record. */
export function toRecord(row: Record<string, unknown>): SessionRecord {
  const record: SessionRecord = {
    id: String(row.id),
    createdAt: integer(row, 'created_at_ms'),
    lastAccessedAt: integer(row, 'last_accessed_at_ms'),
    maxInactiveMs: integer(row, 'max_inactive_ms'),
    expiresAt: integer(row, 'expires_at_ms'),
    attributes: decodeAttributes(row.attributes),
  }
  if (typeof row.principal === 'string') record.principal = row.principal
  return record
}

/** Integer milliseconds, or STORE_ERROR before anything is sent (nothing is written). */
function ms(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new SessionError(
      'STORE_ERROR',
      `postgres save refused ${field}: not integer milliseconds; nothing was written`,
    )
  }
  return value
}

/** Values of the create statement ($1..$8) for exactly this metadata and these attributes. */
export function createValues(
  id: string,
  now: number,
  meta: SessionMeta | SessionMetaChange,
  attributes: Record<string, string>,
): unknown[] {
  return [
    id,
    now,
    ms(meta.createdAt, 'createdAt'),
    ms(meta.lastAccessedAt, 'lastAccessedAt'),
    ms(meta.maxInactiveMs ?? meta.expiresAt - meta.lastAccessedAt, 'maxInactiveMs'),
    ms(meta.expiresAt, 'expiresAt'),
    typeof meta.principal === 'string' ? meta.principal : null,
    encodeAttributes(attributes),
  ]
}

/** Values of the update statement ($1..$9): the metadata and attribute deltas. */
export function updateValues(
  id: string,
  now: number,
  meta: SessionMetaChange,
  set: Record<string, string>,
  removed: readonly string[],
): unknown[] {
  const principal = meta.principal
  return [
    id,
    now,
    ms(meta.lastAccessedAt, 'lastAccessedAt'),
    ms(meta.expiresAt, 'expiresAt'),
    meta.maxInactiveMs === undefined ? null : ms(meta.maxInactiveMs, 'maxInactiveMs'),
    principal === undefined ? 'keep' : principal === null ? 'clear' : 'set',
    principal ?? null,
    encodeAttributes(set),
    // Own properties only, and never a name `set` also holds.
    removed.filter((name) => !Object.hasOwn(set, name)),
  ]
}
