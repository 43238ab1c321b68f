import {
  isSessionError,
  mergeMeta,
  type SaveResult,
  type SessionMetaChange,
  type SessionRecord,
} from '@sessionkit/core'
import type { Client } from './commands'
import type { Writes } from './durability'
import { isWrongType } from './errors'
import { fromLegacy } from './legacy'
import type { PrincipalIndex } from './principal-index'
import { checked, createArgs, updateArgs } from './record'
import { MARKER_MS } from './rotation-marker'

/** One write to move into the new layout: a save's delta, or a touch (no attribute change). */
export interface PendingChange {
  meta: SessionMetaChange
  set: Record<string, string>
  removed: readonly string[]
}

/**
 * Sessions that exist only as connect-redis records (`<legacy prefix><id>` JSON strings):
 * read on a miss, and moved to the new layout by their first save or touch.
 */
export class LegacyRecords {
  constructor(
    private readonly client: Client,
    private readonly writes: Writes,
    private readonly index: PrincipalIndex,
    private readonly prefix: string,
    private readonly key: (id: string) => string,
  ) {}

  legacyKey(id: string): string {
    return this.prefix + id
  }

  async load(id: string, now: number): Promise<SessionRecord | undefined> {
    const key = this.legacyKey(id)
    const replies = await this.client.pipeline().get(key).pttl(key).exec()
    const [[getErr, json], [ttlErr, pttl]] = replies as [
      [Error | null, string | null],
      [Error | null, number],
    ]
    if (getErr || ttlErr) {
      if (isWrongType(getErr ?? ttlErr)) return undefined
      throw getErr ?? ttlErr
    }
    if (json === null) return undefined
    const record = fromLegacy(id, json, pttl, now)
    return record.expiresAt > now ? record : undefined
  }

  /** Reads and deletes the legacy record atomically, so one writer wins. */
  async take(id: string, now: number): Promise<SessionRecord | undefined> {
    const reply = await this.takeRaw(id, '')
    return reply?.length === 2 ? this.liveRecord(id, reply, now) : undefined
  }

  /**
   * A rotation's take: as {@link take}, leaving a marker that names `newId`, so that a copy of
   * this take sent again (the first one's answer was lost) answers `moved` instead of `gone`.
   */
  async takeFor(id: string, newId: string, now: number): Promise<'taken' | 'moved' | 'gone'> {
    const reply = await this.takeRaw(id, newId)
    if (!reply) return 'gone'
    if (reply.length === 1) return 'moved'
    return this.liveRecord(id, reply, now) ? 'taken' : 'gone'
  }

  private async takeRaw(id: string, newId: string) {
    const key = this.legacyKey(id)
    const marker = legacyMarkerKey(key)
    return this.writes
      .send(
        key,
        (c) => c.sessionkitTakeLegacy(key, marker, newId, MARKER_MS),
        (r) => r !== null,
      )
      .catch((err: unknown) => {
        if (isWrongType(err)) return null
        throw err
      })
  }

  private liveRecord(id: string, reply: [string, number], now: number): SessionRecord | undefined {
    try {
      const record = fromLegacy(id, reply[0], Number(reply[1]), now)
      return record.expiresAt > now ? record : undefined
    } catch (err) {
      if (isSessionError(err, 'CORRUPT_RECORD')) return undefined
      throw err
    }
  }

  /**
   * The first write to a session that exists only as a legacy record: take it, then write
   * it in the new layout with this change applied.
   */
  async migrate(id: string, change: PendingChange, now: number): Promise<SaveResult> {
    const legacy = await this.take(id, now)
    if (!legacy) return 'gone'
    const attributes: Record<string, string> = Object.assign(
      Object.create(null),
      legacy.attributes,
      change.set,
    )
    for (const name of change.removed) delete attributes[name]
    const meta = mergeMeta(legacy, change.meta)
    const key = this.key(id)
    const args = createArgs(now, meta, attributes)
    const [result] = checked(
      await this.writes.send(
        key,
        (c) => c.sessionkitSave(key, args),
        (r) => r[0] === 'saved',
      ),
      'save',
    )
    if (result === 'saved') {
      if (meta.principal) await this.index.add(meta.principal, id, meta.expiresAt)
      return 'saved'
    }
    // 'collision': a concurrent request migrated it first; apply this change on top.
    const update = updateArgs(now, change.meta, change.set, change.removed)
    const again = checked(
      await this.writes.send(
        key,
        (c) => c.sessionkitSave(key, update),
        (r) => r[0] === 'saved',
      ),
      'save',
    )
    if (again[0] === 'saved') await this.index.follow(id, again[1]!, again[2]!, Number(again[3]))
    return again[0] as SaveResult
  }
}

/**
 * The marker a rotation's take leaves next to a legacy key, in the key's Cluster slot: a
 * connect-redis key has no hash tag, so the marker's tag is the whole key (unless it has one).
 */
export function legacyMarkerKey(key: string): string {
  return /^[^{]*\{[^}]+\}/.test(key) ? `${key}:moved` : `{${key}}:moved`
}
