/**
 * The store SPI: what a third-party store implements. Attribute values arrive already
 * encoded as strings, so a store never serializes user data itself.
 */

/**
 * What a store keeps for one session.
 *
 * @example
 * ```ts
 * const record: SessionRecord = {
 *   id, createdAt: now, lastAccessedAt: now, maxInactiveMs: 1_800_000, expiresAt: now + 1_800_000,
 *   principal: 'alice', attributes: { cart: '{"items":[]}' },
 * }
 * ```
 */
export interface SessionRecord {
  id: string
  /** Epoch ms. */
  createdAt: number
  /** Epoch ms of the last save or touch. */
  lastAccessedAt: number
  /** Idle timeout in ms. */
  maxInactiveMs: number
  /** Epoch ms; the store must never return the record at or after this instant. */
  expiresAt: number
  /** Owner name, indexed where the store supports `findByPrincipal`. */
  principal?: string
  /** Attribute name to encoded value. */
  attributes: Record<string, string>
}

/** A record's metadata as stored: what {@link SessionStore.load} answers besides the attributes. */
export type SessionMeta = Omit<SessionRecord, 'id' | 'attributes'>

/**
 * The metadata one save writes: a delta, like the attributes. Two requests that loaded the
 * same session may save in any order, so a save writes `principal` and `maxInactiveMs` only
 * when this request changed them, and a stale writer never shortens an expiry that a fresher
 * writer set.
 *
 * Rules for an existing record (not `isNew`, not rotated), for save and touch alike:
 * - stored `lastAccessedAt` and `expiresAt` become max(stored, given), except when the save
 *   carries `maxInactiveMs` (this request changed the idle timeout): then the given
 *   `expiresAt` is written even if it is shorter. The backend's own TTL follows the stored
 *   `expiresAt`, so it is never shortened by a stale writer either.
 * - `principal` and `maxInactiveMs` are written only when present; `createdAt` never changes.
 * - the principal index is written only once the outcome is known to be `saved`.
 *
 * For a create or a rotation the record is exactly this metadata plus `set`: `maxInactiveMs`
 * is present and `principal` is a string or `null`.
 *
 * @example
 * ```ts
 * // request B logged alice in and raised the idle timeout; request A only changed `cart`
 * const b: SessionMetaChange = { createdAt, lastAccessedAt: now, expiresAt: now + 30 * DAY, maxInactiveMs: 30 * DAY, principal: 'alice' }
 * const a: SessionMetaChange = { createdAt, lastAccessedAt: now, expiresAt: now + DAY } // keeps alice and the 30 days
 * ```
 */
export interface SessionMetaChange {
  /** Epoch ms; written by a create or rotation only. */
  createdAt: number
  /** Epoch ms of this save. */
  lastAccessedAt: number
  /** Epoch ms; never shortens the stored expiry unless `maxInactiveMs` is present. */
  expiresAt: number
  /** Present only when this request changed the idle timeout; always present when isNew or rotated. */
  maxInactiveMs?: number
  /**
   * `undefined`: unchanged (keep the stored owner and its index entry); `null`: owner removed;
   * a string: the new owner. Always a string or `null` when isNew or rotated.
   */
  principal?: string | null
}

/**
 * What a touch writes: only the access time and expiry, each as max(stored, given). A touch
 * never writes the owner or the idle timeout, so a stale touch cannot undo a fresher save.
 *
 * @example
 * ```ts
 * await store.touch(id, { lastAccessedAt: now, expiresAt: now + maxInactiveMs })
 * ```
 */
export interface SessionTouch {
  lastAccessedAt: number
  expiresAt: number
}

/**
 * What one request changed, handed to {@link SessionStore.save}. `set` and `removed` never
 * name the same attribute.
 *
 * @example
 * ```ts
 * // one request changed `cart` and dropped `flash`
 * await store.save({ id, isNew: false, meta, set: { cart: '{"items":["apple"]}' }, removed: ['flash'] })
 * ```
 */
export interface SessionChange {
  id: string
  /**
   * The id was rotated since load: the new record at `id` is exactly `meta` + `set` (which
   * holds every attribute); the record at `previousId` and its index entry are removed. If
   * `previousId` no longer exists the answer is `'gone'`; if `id` is taken, `'collision'`;
   * either way nothing is written. Never set together with `isNew`.
   */
  previousId?: string
  /**
   * Never saved: create only if `id` is free (an expired record counts as free and is
   * replaced whole), else answer `'collision'`.
   */
  isNew: boolean
  /** A delta for an existing record, the whole metadata for a create or rotation: see {@link SessionMetaChange}. */
  meta: SessionMetaChange
  /** Attributes added or changed; all of them when `isNew` or rotated. */
  set: Record<string, string>
  /** Attributes deleted. */
  removed: string[]
}

/**
 * - `saved`: written.
 * - `gone`: a non-new session's record (or a rotation's previous record) no longer exists;
 *   nothing was written (no resurrection).
 * - `collision`: `isNew` and the id is taken; nothing was written.
 */
export type SaveResult = 'saved' | 'gone' | 'collision'

/**
 * What a store can do beyond the mandatory contract. The conformance suite checks that the
 * manifest tells the truth and runs the cases it enables.
 *
 * @example
 * ```ts
 * readonly capabilities: StoreCapabilities = { principalIndex: true, shared: true }
 * ```
 */
export interface StoreCapabilities {
  /** `findByPrincipal` is implemented and returns exactly the live sessions of a principal. */
  readonly principalIndex: boolean
  /** Records are visible to other processes (false for an in-process store). */
  readonly shared: boolean
}

/**
 * The contract every sessionkit store implements.
 *
 * @example
 * ```ts
 * class MyStore implements SessionStore {
 *   readonly capabilities = { principalIndex: false, shared: true }
 *   async load(id) { ... }
 *   async save(change) { ... }
 *   async touch(id, meta) { ... }
 *   async delete(id) { ... }
 * }
 * ```
 */
export interface SessionStore {
  readonly capabilities: StoreCapabilities
  /**
   * The live record, or `undefined` when absent or expired (also for any string that is no
   * id this store could hold). Never creates anything.
   */
  load(id: string): Promise<SessionRecord | undefined>
  /**
   * Applies one request's change atomically with respect to the record's existence. Attributes
   * and metadata both merge as deltas (see {@link SessionMetaChange}); must save and load back
   * tens of thousands of attributes.
   */
  save(change: SessionChange): Promise<SaveResult>
  /**
   * Extends the expiry without rewriting attributes, owner or idle timeout (see
   * {@link SessionTouch}); false when the record is gone.
   */
  touch(id: string, meta: SessionTouch): Promise<boolean>
  /** Deletes the record and its index entries; a missing id is a no-op. */
  delete(id: string): Promise<void>
  /** Live records owned by `principal`, in no particular order. Present when `capabilities.principalIndex` is true. */
  findByPrincipal?(principal: string): Promise<SessionRecord[]>
  /**
   * Releases what the store opened itself (never a client the user passed in). Operations
   * after `close` reject with `STORE_UNAVAILABLE`.
   */
  close?(): Promise<void>
}
