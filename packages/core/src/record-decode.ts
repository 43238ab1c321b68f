import type { Codec } from './codec'
import { isSessionError, SessionError } from './errors'
import { Session } from './session'
import type { SessionRecord } from './types'

/** A stored record's attributes: decoded values, and the encodings a later diff compares with. */
export interface DecodedAttributes {
  values: Record<string, unknown>
  encoded: Map<string, string>
}

/** A record's attributes decoded; throws when the record is malformed or a value cannot be decoded. */
export function decodeRecord(codec: Codec, record: SessionRecord): DecodedAttributes {
  if (
    !Number.isFinite(record.createdAt) ||
    !Number.isFinite(record.lastAccessedAt) ||
    !Number.isFinite(record.maxInactiveMs) ||
    !Number.isFinite(record.expiresAt) ||
    typeof record.attributes !== 'object' ||
    record.attributes === null
  ) {
    throw new Error('metadata is missing or not numeric')
  }
  const values: Record<string, unknown> = {}
  const encoded = new Map<string, string>()
  const attributes = record.attributes
  // Keys, not entries: no [name, text] pair allocated per attribute.
  for (const name of Object.keys(attributes)) {
    const text = attributes[name]
    if (typeof text !== 'string') throw new Error(`attribute ${JSON.stringify(name)} is not a string`)
    // Never a value (it would set the prototype), but still "loaded": the next save removes it.
    if (name !== '__proto__') values[name] = codec.decode(text)
    encoded.set(name, text)
  }
  return { values, encoded }
}

/** The error reported (as an `error` event) for a record that cannot be decoded. */
export function corruptRecordError(id: string, err: unknown): SessionError {
  return isSessionError(err)
    ? err
    : new SessionError(
        'CORRUPT_RECORD',
        `session ${id.slice(0, 6)}… cannot be decoded: ${(err as Error)?.message}`,
        {
          cause: err,
        },
      )
}

/** The session a decoded record holds; `requestedId` is the id the client presented, if any. */
export function sessionFromRecord<Data extends object>(
  record: SessionRecord,
  data: DecodedAttributes,
  requestedId: string | undefined,
  absoluteTimeoutMs: number | undefined,
  newId: () => string,
): Session<Data> {
  return new Session<Data>({
    id: record.id,
    createdAt: record.createdAt,
    lastAccessedAt: record.lastAccessedAt,
    maxInactiveMs: record.maxInactiveMs,
    absoluteTimeoutMs,
    principal: record.principal,
    data: data.values as Data,
    storedId: record.id,
    loaded: data.encoded,
    requestedId,
    newId,
  })
}
