import { type Codec, jsonCodec } from './codec'
import { SessionError } from './errors'
import type { CommitResult } from './repository-options'
import { type AttributeDiff, type Session, STATE } from './session'
import type { SessionChange, SessionMetaChange } from './types'

/**
 * Encodes every top-level attribute and compares it with what was loaded. Only the changed
 * encodings are kept: an unchanged one is the loaded text (see {@link allEncoded}), so a
 * read of a wide session copies nothing per attribute.
 */
export function diffAttributes(session: Session<object>, codec: Codec, maxSizeBytes: number): AttributeDiff {
  const { loaded, extra } = session[STATE]
  const data = session.data as Record<string, unknown>
  const set: Record<string, string> = {}
  let count = 0
  let kept = 0 // loaded names still encoded: fewer than loaded.size means some are removed
  let chars = 0
  let unstored: Set<string> | undefined // names whose value encodes to nothing (`undefined`)
  const sources: Record<string, unknown>[] = extra ? [data, extra] : [data]
  for (const source of sources) {
    for (const name of Object.keys(source)) {
      if (source === data && extra && Object.hasOwn(extra, name)) continue
      const text = codec.encode(source[name])
      if (text === undefined) {
        unstored ??= new Set()
        unstored.add(name)
        continue
      }
      count++
      chars += name.length + text.length
      const before = loaded.get(name)
      if (before !== undefined) kept++
      if (before !== text) {
        assertReadable(codec, name, text)
        set[name] = text
      }
    }
  }
  const removed: string[] = []
  if (kept < loaded.size) {
    // Encoded above: an own enumerable key (what Object.keys lists) whose value encodes.
    const listed = (source: object | undefined, name: string) =>
      source !== undefined && Object.prototype.propertyIsEnumerable.call(source, name)
    for (const name of loaded.keys()) {
      if (unstored?.has(name) || !(listed(data, name) || listed(extra, name))) removed.push(name)
    }
  }
  const diff: AttributeDiff = { set, removed, count }
  // UTF-8 needs at most 3 bytes per UTF-16 unit: count exactly only near the limit.
  if (chars * 3 > maxSizeBytes) {
    const bytes = encodedBytes(loaded, diff)
    if (bytes > maxSizeBytes) {
      throw new SessionError(
        'SESSION_TOO_LARGE',
        `session ${session.id.slice(0, 6)}… encodes to ${bytes} bytes, over maxSizeBytes (${maxSizeBytes})`,
      )
    }
  }
  return diff
}

/** The UTF-8 size of every attribute's name and encoding after `diff` (see {@link allEncoded}). */
function encodedBytes(loaded: Map<string, string>, diff: AttributeDiff): number {
  const removed = diff.removed.length > 0 ? new Set(diff.removed) : undefined
  let bytes = 0
  for (const [name, text] of loaded) {
    if (!Object.hasOwn(diff.set, name) && !removed?.has(name))
      bytes += Buffer.byteLength(name) + Buffer.byteLength(text)
  }
  for (const name of Object.keys(diff.set))
    bytes += Buffer.byteLength(name) + Buffer.byteLength(diff.set[name]!)
  return bytes
}

/** Every attribute's encoding after `diff`: the loaded ones not removed, then the changed ones. */
export function allEncoded(session: Session<object>, diff: AttributeDiff): Record<string, string> {
  const all: Record<string, string> = {}
  const removed = diff.removed.length > 0 ? new Set(diff.removed) : undefined
  for (const [name, text] of session[STATE].loaded) if (!removed?.has(name)) all[name] = text
  for (const name of Object.keys(diff.set)) all[name] = diff.set[name]!
  return all
}

/**
 * What is saved must load: a value the codec writes but cannot read back would lose the
 * whole session as CORRUPT_RECORD on the next request, so it is refused at save. The JSON
 * codec reads back everything it writes; a custom codec is checked here, per changed value.
 */
function assertReadable(codec: Codec, name: string, text: string): void {
  if (codec === jsonCodec) return
  try {
    codec.decode(text)
  } catch (err) {
    throw new SessionError(
      'ENCODE_FAILED',
      `session attribute ${JSON.stringify(name.slice(0, 40))} encodes to text the codec cannot read back: ${(err as Error)?.message}`,
      { cause: err },
    )
  }
}

/**
 * The session's expiry if saved at `now`. The idle timeout may have been set by app code
 * (a cookie's maxAge): it is checked here, before anything is written, because a store
 * keeps integer milliseconds and a key without a sane TTL would live forever.
 */
export function sessionExpiresAt(
  session: Session<object>,
  now: number,
  absoluteTimeoutMs: number | undefined,
): number {
  const idle = session.maxInactiveMs
  if (!(Number.isFinite(idle) && idle > 0 && Number.isSafeInteger(Math.round(now + idle)))) {
    throw new SessionError(
      'INVALID_OPTIONS',
      `the session's idle timeout must be a positive, finite number of ms, got ${idle}`,
    )
  }
  // Stores keep integer milliseconds; a fractional timeout (3_600_000 / 7) is rounded once, here.
  if (!Number.isInteger(idle)) session.maxInactiveMs = Math.round(idle)
  const expiresAt = now + session.maxInactiveMs
  return absoluteTimeoutMs === undefined
    ? expiresAt
    : Math.min(expiresAt, session.createdAt + absoluteTimeoutMs)
}

/**
 * The metadata of one save: whole for a create or rotation, else a delta naming owner and
 * idle timeout only when this request changed them, so a stale writer cannot undo them.
 */
export function metaChange(
  session: Session<object>,
  now: number,
  kind: 'whole' | 'delta',
  absoluteTimeoutMs: number | undefined,
): SessionMetaChange {
  const state = session[STATE]
  const meta: SessionMetaChange = {
    createdAt: session.createdAt,
    lastAccessedAt: now,
    expiresAt: sessionExpiresAt(session, now, absoluteTimeoutMs),
  }
  if (kind === 'whole' || session.maxInactiveMs !== state.storedMaxInactiveMs)
    meta.maxInactiveMs = session.maxInactiveMs
  if (kind === 'whole' || session.principal !== state.storedPrincipal)
    meta.principal = session.principal ?? null
  return meta
}

/** Records a confirmed write: what is stored now is what the next diff compares with. */
export function markSaved(session: Session<object>, diff: AttributeDiff, now: number): void {
  const state = session[STATE]
  state.storedId = session.id
  // What is stored now: the loaded encodings, changed in place (the session's own map).
  for (const name of diff.removed) state.loaded.delete(name)
  for (const name of Object.keys(diff.set)) state.loaded.set(name, diff.set[name]!)
  state.storedPrincipal = session.principal
  state.storedMaxInactiveMs = session.maxInactiveMs
  session.lastAccessedAt = now
}

/** Records that the store no longer has the session (deleted or expired elsewhere). */
export function markGone(session: Session<object>): CommitResult {
  session[STATE].storedId = undefined
  session[STATE].destroyed = true
  return 'gone'
}

/** A stored session's attributes, principal or idle timeout differ from what is stored. */
export function hasChanges(session: Session<object>, diff: AttributeDiff): boolean {
  const state = session[STATE]
  return (
    Object.keys(diff.set).length > 0 ||
    diff.removed.length > 0 ||
    session.principal !== state.storedPrincipal ||
    session.maxInactiveMs !== state.storedMaxInactiveMs
  )
}

/** The change that creates a new session: every attribute, whole metadata. */
export function newChange(
  session: Session<object>,
  diff: AttributeDiff,
  now: number,
  absoluteTimeoutMs: number | undefined,
): SessionChange {
  return {
    id: session.id,
    isNew: true,
    meta: metaChange(session, now, 'whole', absoluteTimeoutMs),
    set: allEncoded(session, diff),
    removed: [],
  }
}

/**
 * The change of a stored session: a rotation (new id) writes everything under the new id, else
 * only the changed attributes and a metadata delta.
 */
export function storedChange(
  session: Session<object>,
  diff: AttributeDiff,
  now: number,
  absoluteTimeoutMs: number | undefined,
): SessionChange {
  const state = session[STATE]
  return state.storedId !== session.id
    ? {
        id: session.id,
        previousId: state.storedId,
        isNew: false,
        meta: metaChange(session, now, 'whole', absoluteTimeoutMs),
        set: allEncoded(session, diff),
        removed: [],
      }
    : {
        id: session.id,
        isNew: false,
        meta: metaChange(session, now, 'delta', absoluteTimeoutMs),
        set: diff.set,
        removed: diff.removed,
      }
}
