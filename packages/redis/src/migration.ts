import {
  isSessionError,
  mergeMeta,
  type SaveResult,
  SessionError,
  type SessionMeta,
  type SessionMetaChange,
  type SessionRecord,
} from '@sessionkit/core'
import type { Client, Reply } from './commands'
import type { Writes } from './durability'
import { isWrongType } from './errors'
import { fromLegacy } from './legacy'
import type { PrincipalIndex } from './principal-index'
import { checked, createArgs, parseRecord, updateArgs } from './record'
import { MARKER_MS } from './rotation-marker'

/** One write to move into the new layout: a save's delta, or a touch (no attribute change). */
export interface PendingChange {
  meta: SessionMetaChange
  set: Record<string, string>
  removed: readonly string[]
}

/**
 * Sessions that exist only as connect-redis records (`<legacy prefix><id>` JSON strings):
 * read on a miss, and moved to the new layout by their first save or touch (or by
 * {@link LegacyMigration.convert}); with `keep`, kept in their format instead (legacy-keep.ts).
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

  /**
   * The session: its legacy record while one exists (until a move's drop commits it), else the
   * new layout's record. `raw`: the legacy value already read.
   */
  async load(
    id: string,
    now: number,
    raw?: { json: string; pttl: number },
  ): Promise<SessionRecord | undefined> {
    raw ??= await this.read(id)
    if (!raw) return this.current(id, now)
    const record = fromLegacy(id, raw.json, raw.pttl, now)
    return record.expiresAt > now ? record : undefined
  }

  /** The session in the new layout (no legacy record: never had one, or it was moved). */
  private async current(id: string, now: number): Promise<SessionRecord | undefined> {
    const hash = await this.client.hgetall(this.key(id)).catch((err: unknown) => {
      if (isWrongType(err)) {
        throw new SessionError('CORRUPT_RECORD', 'redis key for a session is not a hash', { cause: err })
      }
      throw err
    })
    return Object.keys(hash).length > 0 ? parseRecord(id, hash, now) : undefined
  }

  /** The stored value and its PTTL; undefined when there is none (or the key is no string). */
  async read(id: string): Promise<{ json: string; pttl: number } | undefined> {
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
    return json === null ? undefined : { json, pttl: Number(pttl) }
  }

  /**
   * A rotation's take: reads and deletes the legacy record atomically (one writer wins), leaving a marker that names `newId`, so that a copy of
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
    return this.parsed(id, { json: reply[0], pttl: Number(reply[1]) }, now)
  }

  /**
   * The first write to a session that exists only as a legacy record: write it in the new
   * layout with this change applied, then delete the legacy record if nobody rewrote it
   * meanwhile. The new record exists before the legacy one goes, and a load reads the new
   * layout first, so a request on another server never finds neither (a take-then-write did:
   * a read between the two saw no session, a logout).
   */
  async migrate(id: string, change: PendingChange, now: number): Promise<SaveResult> {
    return this.move(id, now, (legacy) => {
      const attributes: Record<string, string> = Object.assign(
        Object.create(null),
        legacy.attributes,
        change.set,
      )
      for (const name of change.removed) delete attributes[name]
      return { attributes, meta: mergeMeta(legacy, change.meta), change }
    })
  }

  /** Moves one legacy record to the new layout unchanged (the bulk conversion's step). */
  async convert(id: string, now: number): Promise<SaveResult> {
    return this.move(id, now, (legacy) => ({ attributes: legacy.attributes, meta: legacy }))
  }

  private async move(
    id: string,
    now: number,
    apply: (legacy: SessionRecord) => {
      attributes: Record<string, string>
      meta: SessionMeta
      change?: PendingChange
    },
  ): Promise<SaveResult> {
    const key = this.key(id)
    for (let attempt = 0; attempt < MOVE_ATTEMPTS; attempt++) {
      const raw = await this.read(id)
      const legacy = raw && this.parsed(id, raw, now)
      if (!raw || !legacy) return 'gone'
      const { attributes, meta, change } = apply(legacy)
      const [result] = await this.saveScript(key, createArgs(now, meta, attributes))
      if (result !== 'saved') {
        // 'collision': another request moved it first; apply this change on top of its move.
        if (!change) return 'saved'
        const again = await this.saveScript(key, updateArgs(now, change.meta, change.set, change.removed))
        if (again[0] === 'saved') await this.index.follow(id, again[1]!, again[2]!, Number(again[3]))
        return again[0] as SaveResult
      }
      const dropped = await this.dropIfUnchanged(id, raw.json)
      if (dropped) {
        if (meta.principal) await this.index.add(meta.principal, id, meta.expiresAt)
        return 'saved'
      }
      // A peer (or a keep-mode server) rewrote the legacy record after it was read: that write
      // is newer. Undo the move and start over from it.
      await this.writes.send(key, (c) => c.sessionkitDelete(key))
    }
    throw new SessionError(
      'STORE_UNAVAILABLE',
      `session ${id.slice(0, 6)}… kept changing in its connect-redis record while it was moved; nothing was written`,
    )
  }

  /** SAVE_LUA on the new layout's key: the one place this file sends it. */
  private async saveScript(key: string, args: (string | number)[]): Promise<Reply> {
    return checked(
      await this.writes.send(
        key,
        (c) => c.sessionkitSave(key, args),
        (r) => r[0] === 'saved',
      ),
      'save',
    )
  }

  /** Deletes the legacy record if it still holds `json` (or is gone already); false if rewritten. */
  async dropIfUnchanged(id: string, json: string): Promise<boolean> {
    const key = this.legacyKey(id)
    const reply = await this.writes.send(
      key,
      (c) => c.eval(DROP_IF_UNCHANGED_LUA, 1, key, json) as Promise<number>,
      (r) => Number(r) === 1,
    )
    return Number(reply) !== 0
  }

  private parsed(id: string, raw: { json: string; pttl: number }, now: number) {
    try {
      const record = fromLegacy(id, raw.json, raw.pttl, now)
      return record.expiresAt > now ? record : undefined
    } catch (err) {
      if (isSessionError(err, 'CORRUPT_RECORD')) return undefined
      throw err
    }
  }
}

/** Rounds of read, write, check before a move that keeps being overtaken gives up. */
const MOVE_ATTEMPTS = 5

/** 1: deleted; -1: already gone; 0: holds another value (left alone). KEYS = key; ARGV = value. */
const DROP_IF_UNCHANGED_LUA = `
local v = redis.call('GET', KEYS[1])
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`

/**
 * The marker a rotation's take leaves next to a legacy key, in the key's Cluster slot: a
 * connect-redis key has no hash tag, so the marker's tag is the whole key (unless it has one).
 */
export function legacyMarkerKey(key: string): string {
  return /^[^{]*\{[^}]+\}/.test(key) ? `${key}:moved` : `{${key}}:moved`
}
