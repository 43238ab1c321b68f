import { SessionError } from '../errors'
import { isValidSessionId } from '../ids'
import { createdMeta, mergeMeta, touchedMeta } from '../meta'
import type { Secret } from '../signer'
import type {
  SaveResult,
  SessionChange,
  SessionMeta,
  SessionRecord,
  SessionStore,
  SessionTouch,
  StoreCapabilities,
} from '../types'
import { decodePayload, encodePayload } from './payload'
import { deriveKeys, open, type SealKey, seal } from './seal'

/** Options of {@link SealedCookieStore}. */
export interface SealedCookieOptions {
  /**
   * Secrets of at least 32 bytes, newest first: the first seals, every one opens. Keys are
   * derived from them with HKDF; use other secrets than the cookie signature's.
   */
  secrets: readonly Secret[]
  /**
   * Longest sealed value, in characters. Default 4000: browsers drop a cookie whose name and
   * value pass 4096 bytes, and this leaves 96 for the name, `=`, the bindings' `s:` prefix and
   * their 44-character signature (a name of up to 49 characters).
   */
  maxSealedBytes?: number
  /** Sessions held in process between a request's begin and commit (a safety bound). Default 10,000. */
  maxInFlight?: number
}

interface Entry {
  record: SessionRecord
  /** The record sealed: what the cookie carries. */
  token: string
  /** Requests of this process between begin and commit that use the entry. */
  holders: number
}

/** Marks a store whose records travel in the cookie; the lifecycle asks it for the cookie value. */
export const SEALED = Symbol.for('sessionkit.sealed')

/**
 * Stateless sessions: the whole record travels in the cookie, encrypted and authenticated
 * (AES-256-GCM), so any server holding the secrets reads it and no store is needed. Give it
 * as the `store` of any binding. The store holds a session only while a request of this
 * process uses it; the cookie is the only copy.
 *
 * What statelessness costs: a cookie copied before a logout opens until it expires (there is
 * no server state to revoke it), so `revokeAll` / `destroyAllFor` / `findByPrincipal` answer
 * NOT_SUPPORTED; concurrent requests of one session are last write wins (the last cookie the
 * browser stores).
 *
 * @example
 * ```ts
 * app.use(session({ secret, store: new SealedCookieStore({ secrets: [process.env.SEAL_KEY!] }) }))
 * ```
 */
export class SealedCookieStore implements SessionStore {
  readonly capabilities: StoreCapabilities = { principalIndex: false, shared: true }
  readonly [SEALED] = true
  readonly maxSealedBytes: number
  readonly #keys: SealKey[]
  readonly #maxInFlight: number
  readonly #entries = new Map<string, Entry>()

  constructor(options: SealedCookieOptions) {
    this.#keys = deriveKeys(options?.secrets ?? [])
    this.maxSealedBytes = options.maxSealedBytes ?? 4000
    this.#maxInFlight = options.maxInFlight ?? 10_000
  }

  /**
   * @internal The session id inside a cookie value, held for this request; `undefined` when
   * the value is tampered, truncated, sealed by no listed key, malformed or expired.
   */
  unseal(token: string): string | undefined {
    const bytes = open(this.#keys, token, this.maxSealedBytes)
    const record = bytes && decodePayload(bytes)
    if (!record || !isValidSessionId(record.id) || record.expiresAt <= Date.now()) return undefined
    const held = this.#entries.get(record.id)
    if (held) {
      held.holders++
      // Another request of this process holds it: keep whichever copy was written last.
      if (record.lastAccessedAt > held.record.lastAccessedAt) Object.assign(held, { record, token })
    } else this.#hold(record.id, { record, token, holders: 1 })
    return record.id
  }

  /** @internal The cookie value for a session this request holds (after its save, the new seal). */
  cookieValue(id: string): string | undefined {
    return this.#entries.get(id)?.token
  }

  /** @internal A request is done with `id`: the entry goes once no request of this process holds it. */
  release(id: string): void {
    const entry = this.#entries.get(id)
    if (entry && --entry.holders <= 0) this.#entries.delete(id)
  }

  async load(id: string): Promise<SessionRecord | undefined> {
    const entry = this.#entries.get(id)
    if (!entry || entry.record.expiresAt <= Date.now()) return undefined
    return { ...entry.record, attributes: { ...entry.record.attributes } }
  }

  async save(change: SessionChange): Promise<SaveResult> {
    const existing = this.#entries.get(change.id)
    if (change.isNew || change.previousId !== undefined) {
      if (existing) return 'collision'
      const previous = change.previousId === undefined ? undefined : this.#entries.get(change.previousId)
      if (change.previousId !== undefined && !previous) return 'gone'
      const record = this.#record(change.id, createdMeta(change.meta), change.set)
      const token = this.#seal(record)
      if (change.previousId !== undefined) this.#entries.delete(change.previousId)
      // Held by the request that made it, released at its commit.
      this.#hold(change.id, { record, token, holders: 1 })
      return 'saved'
    }
    if (!existing) return 'gone'
    const attributes = { ...existing.record.attributes, ...change.set }
    for (const name of change.removed) delete attributes[name]
    const record = this.#record(change.id, mergeMeta(existing.record, change.meta), attributes)
    existing.token = this.#seal(record)
    existing.record = record
    return 'saved'
  }

  async touch(id: string, meta: SessionTouch): Promise<boolean> {
    const entry = this.#entries.get(id)
    if (!entry) return false
    const record = this.#record(id, touchedMeta(entry.record, meta), entry.record.attributes)
    entry.token = this.#seal(record)
    entry.record = record
    return true
  }

  async delete(id: string): Promise<void> {
    this.#entries.delete(id)
  }

  #record(id: string, meta: SessionMeta, attributes: Record<string, string>): SessionRecord {
    const record: SessionRecord = { id, ...meta, attributes }
    if (record.principal === undefined) delete record.principal
    return record
  }

  /** Sealed, or SESSION_TOO_LARGE before any header is sent: a browser would drop the cookie. */
  #seal(record: SessionRecord): string {
    const token = seal(this.#keys, encodePayload(record))
    if (token.length > this.maxSealedBytes) {
      throw new SessionError(
        'SESSION_TOO_LARGE',
        `the sealed session is ${token.length} bytes, over the cookie limit of ${this.maxSealedBytes}: keep large data in a server-side store`,
      )
    }
    return token
  }

  #hold(id: string, entry: Entry): void {
    // A request that never commits (its process path threw before the binding's commit) leaves
    // its entry: the oldest goes first once the bound is reached.
    if (this.#entries.size >= this.#maxInFlight) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
    this.#entries.set(id, entry)
  }
}

/** True for a store whose records travel in the cookie. */
export function isSealedStore(store: unknown): store is SealedCookieStore {
  return typeof store === 'object' && store !== null && (store as { [SEALED]?: unknown })[SEALED] === true
}
