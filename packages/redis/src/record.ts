import {
  SessionError,
  type SessionMeta,
  type SessionMetaChange,
  type SessionRecord,
  type SessionTouch,
} from '@sessionkit/core'
import type { Reply } from './commands'
import { ATTR_PREFIX, META } from './scripts'

/** The hash a record is stored as, back to a record; `undefined` once past its expiresAt. */
export function parseRecord(
  id: string,
  hash: Record<string, string>,
  now: number,
): SessionRecord | undefined {
  const number = (field: string) => {
    const raw = hash[field]
    const value = raw === undefined || raw === '' ? Number.NaN : Number(raw)
    if (!Number.isSafeInteger(value)) {
      throw new SessionError('CORRUPT_RECORD', `session hash field ${field} is missing or not an integer`)
    }
    return value
  }
  const record: SessionRecord = {
    id,
    createdAt: number(META.createdAt),
    lastAccessedAt: number(META.lastAccessedAt),
    maxInactiveMs: number(META.maxInactiveMs),
    expiresAt: number(META.expiresAt),
    // null prototype: an attribute may be called `__proto__`
    attributes: Object.create(null),
  }
  if (record.expiresAt <= now) return undefined
  const principal = hash[META.principal]
  if (principal) record.principal = principal
  for (const field of Object.keys(hash)) {
    if (field.startsWith(ATTR_PREFIX)) record.attributes[field.slice(ATTR_PREFIX.length)] = hash[field]!
  }
  return record
}

/** SAVE_LUA arguments for a new record: exactly `meta` and `attributes`. */
export function createArgs(
  now: number,
  meta: SessionMeta | SessionMetaChange,
  attributes: Record<string, string>,
): (string | number)[] {
  const whole: SessionMetaChange = {
    ...meta,
    maxInactiveMs: meta.maxInactiveMs ?? meta.expiresAt - meta.lastAccessedAt,
    principal: meta.principal ?? null,
  }
  return saveArgs('create', now, whole, attributes, [])
}

/** SAVE_LUA arguments for a change to an existing record: the metadata and attribute deltas. */
export function updateArgs(
  now: number,
  meta: SessionMetaChange,
  set: Record<string, string>,
  removed: readonly string[],
): (string | number)[] {
  return saveArgs('update', now, meta, set, removed)
}

function saveArgs(
  mode: 'create' | 'update',
  now: number,
  meta: SessionMetaChange,
  set: Record<string, string>,
  removed: readonly string[],
): (string | number)[] {
  const principal = meta.principal
  const args: (string | number)[] = [
    mode,
    now,
    meta.createdAt,
    meta.lastAccessedAt,
    meta.expiresAt,
    meta.maxInactiveMs ?? '',
    principal === undefined ? 'keep' : principal === null ? 'clear' : 'set',
    principal ?? '',
  ]
  const names = Object.keys(set)
  args.push(names.length)
  for (const name of names) args.push(ATTR_PREFIX + name, set[name]!)
  // Own properties only: `toString` or `constructor` in `removed` is an attribute to delete,
  // not something every object inherits.
  for (const name of removed) if (!Object.hasOwn(set, name)) args.push(ATTR_PREFIX + name)
  return args
}

/** TOUCH_LUA arguments. */
export function touchArgs(now: number, touch: SessionTouch): (string | number)[] {
  return ['', now, touch.lastAccessedAt, touch.expiresAt]
}

/** Turns a script's `invalid` answer into an error; passes every other answer through. */
export function checked(reply: Reply, operation: string): Reply {
  if (reply[0] === 'invalid') {
    throw new SessionError(
      'STORE_ERROR',
      `redis ${operation} refused its arguments (${reply[1]} must be integer milliseconds); nothing was written`,
    )
  }
  return reply
}
