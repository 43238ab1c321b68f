import {
  mergeMeta,
  type SaveResult,
  type SessionChange,
  SessionError,
  type SessionMeta,
  type SessionRecord,
  type SessionTouch,
  touchedMeta,
} from '@sessionkit/core'
import type { Writes } from './durability'
import { storedCookie, toLegacyValue } from './legacy-format'
import type { LegacyRecords } from './migration'
import type { PrincipalIndex } from './principal-index'

/**
 * `legacy: { keep: true }`: while peer servers (express-session or @fastify/session on
 * connect-redis) still share the store, a session that lives in connect-redis' format stays in
 * it, and a new session starts in it, so the peers read every write. Sessions already in the
 * new layout (written by servers without `keep`) are left to the store's own path.
 *
 * Each write reads the record, applies the change to it, and writes it back only if the
 * record is still what was read (compare-and-set, retried): two sessionkit servers never lose
 * each other's changes. A peer server writes the whole record blindly, as it always did, so a
 * peer's write can still replace a concurrent change of another server (the peers' own
 * lost-update semantics, which keep mode cannot take from them).
 */
export class KeptLegacy {
  constructor(
    private readonly records: LegacyRecords,
    private readonly writes: Writes,
    private readonly index: PrincipalIndex,
  ) {}

  /** The save's outcome, or undefined when the session is not (or no longer) a legacy record. */
  async save(change: SessionChange, now: number): Promise<SaveResult | undefined> {
    if (change.previousId !== undefined && change.previousId !== change.id) return this.rotate(change, now)
    if (change.isNew) {
      const record: SessionRecord = {
        ...created(change.meta),
        id: change.id,
        attributes: { ...change.set },
      }
      if (!(await this.create(record, now))) return 'collision'
      if (record.principal) await this.index.add(record.principal, record.id, record.expiresAt)
      return 'saved'
    }
    const outcome = await this.update(change.id, now, (stored) => {
      const attributes: Record<string, string> = Object.assign(
        Object.create(null),
        stored.attributes,
        change.set,
      )
      for (const name of change.removed) delete attributes[name]
      return { ...mergeMeta(stored, change.meta), id: change.id, attributes }
    })
    if (outcome === undefined) return undefined
    const [before, after] = outcome
    if (before.principal && before.principal !== after.principal)
      await this.index.remove(before.principal, change.id)
    if (after.principal) await this.index.add(after.principal, change.id, after.expiresAt)
    return 'saved'
  }

  /** The touch's outcome (times only, as connect-redis' touch), or undefined when not a legacy record. */
  async touch(id: string, touch: SessionTouch, now: number): Promise<boolean | undefined> {
    const outcome = await this.update(id, now, (stored) => ({ ...stored, ...touchedMeta(stored, touch) }))
    if (outcome === undefined) return undefined
    const [, after] = outcome
    if (after.principal) await this.index.add(after.principal, id, after.expiresAt)
    return true
  }

  /**
   * A rotation of a legacy session, as the peers rotate (`regenerate`): the session under the
   * new id, in the legacy format, then the old id deleted. If the old one was deleted first
   * (a logout elsewhere), the new one is deleted again and the answer is `gone`.
   */
  private async rotate(change: SessionChange, now: number): Promise<SaveResult | undefined> {
    const previousId = change.previousId!
    const old = await this.records.read(previousId)
    if (!old) return undefined
    const record: SessionRecord = { ...created(change.meta), id: change.id, attributes: { ...change.set } }
    for (const name of change.removed) delete record.attributes[name]
    if (!(await this.create(record, now, storedCookie(old.json)))) return 'collision'
    const oldKey = this.records.legacyKey(previousId)
    const deleted = await this.writes.send(oldKey, (c) => c.del(oldKey))
    if (Number(deleted) === 0) {
      const newKey = this.records.legacyKey(change.id)
      await this.writes.send(newKey, (c) => c.del(newKey))
      return 'gone'
    }
    if (record.principal) await this.index.add(record.principal, record.id, record.expiresAt)
    return 'saved'
  }

  private async create(record: SessionRecord, now: number, previousCookie?: unknown): Promise<boolean> {
    const key = this.records.legacyKey(record.id)
    const value = toLegacyValue(record, previousCookie, now)
    if (value.ttlSeconds <= 0) return true // already past its expiry: as connect-redis, nothing to keep
    const reply = await this.writes.send(
      key,
      (c) => c.set(key, value.json, 'EX', value.ttlSeconds, 'NX'),
      (r) => r === 'OK',
    )
    return reply === 'OK'
  }

  /**
   * Read, change, compare-and-set, until the record was not rewritten in between. Answers the
   * record before and after, or undefined when there is no live legacy record.
   */
  private async update(
    id: string,
    now: number,
    apply: (stored: SessionRecord) => SessionRecord,
  ): Promise<[SessionRecord, SessionRecord] | undefined> {
    const key = this.records.legacyKey(id)
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const raw = await this.records.read(id)
      const stored = raw && (await this.records.load(id, now, raw))
      if (!raw || !stored) return undefined
      const next = apply(stored)
      const value = toLegacyValue(next, storedCookie(raw.json), now)
      if (value.ttlSeconds <= 0) return [stored, next]
      const reply = await this.writes.send(
        key,
        (c) =>
          c.eval(REPLACE_IF_UNCHANGED_LUA, 1, key, raw.json, value.json, value.ttlSeconds) as Promise<number>,
        (r) => Number(r) === 1,
      )
      if (Number(reply) === 1) return [stored, next]
      if (Number(reply) === -1) return undefined
    }
    throw new SessionError(
      'STORE_UNAVAILABLE',
      `session ${id.slice(0, 6)}… was rewritten by others ${CAS_ATTEMPTS} times during one write; nothing was written`,
    )
  }
}

/** Rounds of read, change, compare-and-set before a write that keeps being overtaken gives up. */
const CAS_ATTEMPTS = 8

/** The metadata a create or rotation writes: exactly what it carries. */
function created(meta: SessionChange['meta']): SessionMeta {
  const out: SessionMeta = {
    createdAt: meta.createdAt,
    lastAccessedAt: meta.lastAccessedAt,
    expiresAt: meta.expiresAt,
    maxInactiveMs: meta.maxInactiveMs ?? meta.expiresAt - meta.lastAccessedAt,
  }
  if (meta.principal) out.principal = meta.principal
  return out
}

/**
 * 1: replaced; -1: gone (deleted or expired: a logout stays a logout); 0: rewritten since it
 * was read (left alone). KEYS = key; ARGV = value read, new value, EX seconds.
 */
const REPLACE_IF_UNCHANGED_LUA = `
local v = redis.call('GET', KEYS[1])
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
`
