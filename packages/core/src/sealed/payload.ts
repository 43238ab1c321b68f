import type { SessionRecord } from '../types'

/**
 * The record as the sealed cookie carries it: short keys, the attribute values as the codec
 * encoded them. Never compressed: how well a payload compresses tells an observer who can
 * inject data into the session about the secret data beside it (CRIME/BREACH), and the
 * ciphertext length is visible to anyone on the path.
 */
interface Payload {
  i: string
  c: number
  l: number
  m: number
  e: number
  p?: string
  a: Record<string, string>
}

export function encodePayload(record: SessionRecord): Buffer {
  const payload: Payload = {
    i: record.id,
    c: record.createdAt,
    l: record.lastAccessedAt,
    m: record.maxInactiveMs,
    e: record.expiresAt,
    a: record.attributes,
  }
  if (record.principal !== undefined) payload.p = record.principal
  return Buffer.from(JSON.stringify(payload), 'utf8')
}

const isTime = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0

/** The record in an authenticated payload, or `undefined` when its shape is not ours (an old format). */
export function decodePayload(bytes: Buffer): SessionRecord | undefined {
  let payload: Partial<Payload>
  try {
    payload = JSON.parse(bytes.toString('utf8')) as Partial<Payload>
  } catch {
    return undefined
  }
  if (typeof payload !== 'object' || payload === null) return undefined
  const { i, c, l, m, e, p, a } = payload
  if (typeof i !== 'string' || !isTime(c) || !isTime(l) || !isTime(m) || !isTime(e)) return undefined
  if (p !== undefined && typeof p !== 'string') return undefined
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return undefined
  const attributes: Record<string, string> = {}
  for (const [name, value] of Object.entries(a)) {
    if (typeof value !== 'string') return undefined
    Object.defineProperty(attributes, name, { value, enumerable: true, writable: true, configurable: true })
  }
  const record: SessionRecord = {
    id: i,
    createdAt: c,
    lastAccessedAt: l,
    maxInactiveMs: m,
    expiresAt: e,
    attributes,
  }
  if (p !== undefined) record.principal = p
  return record
}
