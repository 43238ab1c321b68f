import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb'
import type {
  SaveResult,
  SessionChange,
  SessionMetaChange,
  SessionRecord,
  SessionStore,
  SessionTouch,
  StoreCapabilities,
} from '@sessionkit/core'
import { SessionError } from '@sessionkit/core'
import { bounded, isConditionFailure } from './errors'
import { Expressions } from './expressions'
import {
  encodeAttributes,
  FIELD,
  type FullMeta,
  fromItem,
  isStorableId,
  itemSize,
  MAX_ITEM_BYTES,
  num,
  toItem,
  tooLarge,
  valueSize,
} from './item'
import { findByPrincipal } from './principal'
import { Resolutions } from './resolutions'
import { RESOLVE_MS, type RotationContext, rotate } from './rotation'
import { createTableInput, ensureTable } from './table'
import { attributeOps, type MetaUpdate, updateRecord } from './update'

/**
 * Options of {@link DynamoDBStore}.
 *
 * @example
 * ```ts
 * const options: DynamoDBStoreOptions = { client: new DynamoDBClient({}), tableName: 'sessions' }
 * ```
 */
export interface DynamoDBStoreOptions {
  /** A `DynamoDBClient` from `@aws-sdk/client-dynamodb` you created. The store never destroys it. */
  client: DynamoDBClient
  /** The session table (see `createTableInput()` / `ensureTable()` and the README). */
  tableName: string
  /**
   * Upper bound in ms for one store operation, the SDK's own retries included. Past it the
   * request is aborted and the operation fails with STORE_UNAVAILABLE. Default 3000.
   */
  operationTimeoutMs?: number
  /**
   * Strongly consistent reads for `load` and `findByPrincipal` (default true). `false` halves
   * the read cost, but a read may then miss a write from the last second or so: a session
   * just created elsewhere loads as absent, a logout elsewhere still loads (until it expires),
   * attributes come back one save behind. Expiry stays exact either way.
   */
  consistentReads?: boolean
}

/**
 * Session store on Amazon DynamoDB, one item per session.
 *
 * - load: one GetItem (ConsistentRead). save: one UpdateItem; create: one PutItem;
 *   rotation: one TransactWriteItems. touch: one UpdateItem. delete: one DeleteItem.
 * - Every operation settles within `operationTimeoutMs`; outages and throttling surface as
 *   STORE_UNAVAILABLE, conditional-check failures as `gone` / `collision`.
 *
 * @example
 * ```ts
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
 * import { DynamoDBStore } from '@sessionkit/dynamodb'
 *
 * const store = new DynamoDBStore({ client: new DynamoDBClient({}), tableName: 'sessions' })
 * ```
 */
export class DynamoDBStore implements SessionStore {
  readonly capabilities: StoreCapabilities = { principalIndex: true, shared: true }
  readonly tableName: string
  private readonly client: DynamoDBClient
  private readonly timeoutMs: number
  private readonly consistentReads: boolean
  private closed = false
  private readonly resolutions = new Resolutions()
  private readonly rotation: RotationContext

  constructor(options: DynamoDBStoreOptions) {
    if (!options?.client || typeof (options.client as { send?: unknown }).send !== 'function') {
      throw new SessionError(
        'INVALID_OPTIONS',
        'DynamoDBStore needs `client`: a DynamoDBClient from @aws-sdk/client-dynamodb',
      )
    }
    if (typeof options.tableName !== 'string' || !/^[A-Za-z0-9_.-]{3,255}$/.test(options.tableName)) {
      throw new SessionError(
        'INVALID_OPTIONS',
        'DynamoDBStore needs `tableName`: 3-255 characters of A-Z, a-z, 0-9, _, - and .',
      )
    }
    const timeout = options.operationTimeoutMs ?? 3000
    if (!(Number.isFinite(timeout) && timeout > 0)) {
      throw new SessionError('INVALID_OPTIONS', 'operationTimeoutMs must be a positive number')
    }
    this.client = options.client
    this.tableName = options.tableName
    this.timeoutMs = timeout
    this.consistentReads = options.consistentReads ?? true
    this.rotation = {
      client: this.client,
      tableName: this.tableName,
      resolutions: this.resolutions,
      attemptMs: timeout,
    }
  }

  /** The CreateTable input for this store's table: on-demand, GSI on `principal`. */
  createTableInput() {
    return createTableInput(this.tableName)
  }

  /** Creates the table if missing, waits until it is ACTIVE and enables TTL. For tests and development. */
  ensureTable(): Promise<void> {
    return ensureTable(this.client, this.tableName)
  }

  async load(id: string): Promise<SessionRecord | undefined> {
    return this.run('load', id, async (signal) => {
      if (!isStorableId(id)) return undefined
      // The new id of a rotation this store answered but is still replaying (rotation.ts).
      await this.resolutions.before(id)
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [FIELD.id]: { S: id } },
          ConsistentRead: this.consistentReads,
        }),
        { abortSignal: signal },
      )
      return Item === undefined ? undefined : fromItem(Item, Date.now())
    })
  }

  async save(change: SessionChange): Promise<SaveResult> {
    const { id, previousId } = change
    // Copied now: the caller may mutate its change while the request is in flight.
    const meta: SessionMetaChange = { ...change.meta }
    const set = { ...change.set }
    const removed = [...change.removed]
    // A rotation answers a little before the bound, so its answer is never the bound's error.
    const deadline = performance.now() + this.timeoutMs - Math.min(50, this.timeoutMs / 10)
    return this.run('save', id, async (signal) => {
      if (!isStorableId(id)) throw new SessionError('INVALID_ID', 'session id is empty or over 2048 bytes')
      const attrs = await encodeAttributes(set)
      if (previousId !== undefined && previousId !== id) {
        if (!isStorableId(previousId)) return 'gone'
        return rotate(this.rotation, previousId, this.fullItem(id, meta, attrs), deadline)
      }
      if (change.isNew) return this.create(this.fullItem(id, meta, attrs), signal)
      let size = 0
      for (const [key, value] of Object.entries(attrs)) size += Buffer.byteLength(key) + valueSize(value) + 1
      if (size > MAX_ITEM_BYTES) throw tooLarge(id, size)
      const live = await updateRecord(
        { client: this.client, tableName: this.tableName, id, signal },
        meta,
        attributeOps(attrs, removed),
      )
      return live ? 'saved' : 'gone'
    })
  }

  async touch(id: string, meta: SessionTouch): Promise<boolean> {
    // Only these two: a touch never writes owner or idle timeout, whatever else the caller passed.
    const copy: MetaUpdate = { lastAccessedAt: meta.lastAccessedAt, expiresAt: meta.expiresAt }
    return this.run('touch', id, async (signal) => {
      if (!isStorableId(id)) return false
      return updateRecord({ client: this.client, tableName: this.tableName, id, signal }, copy, [])
    })
  }

  async delete(id: string): Promise<void> {
    return this.run('delete', id, async (signal) => {
      if (!isStorableId(id)) return
      await this.client.send(
        new DeleteItemCommand({ TableName: this.tableName, Key: { [FIELD.id]: { S: id } } }),
        { abortSignal: signal },
      )
    })
  }

  async findByPrincipal(principal: string): Promise<SessionRecord[]> {
    return this.run('findByPrincipal', '', (signal) =>
      findByPrincipal(this.client, this.tableName, principal, this.consistentReads, signal),
    )
  }

  /**
   * Resolves once every rotation this store answered without knowing its outcome has been
   * replayed until DynamoDB told it (at most {@link RESOLVE_MS}; see the README, "Rotation").
   * Meant for tests and graceful shutdown; requests never need it.
   */
  settled(): Promise<void> {
    return this.resolutions.settled()
  }

  /** Later operations reject with STORE_UNAVAILABLE. The client stays open: it is yours. */
  async close(): Promise<void> {
    this.closed = true
  }

  /** Create: a PutItem that succeeds only when the id is free or its record expired. */
  private async create(item: Record<string, AttributeValue>, signal: AbortSignal): Promise<SaveResult> {
    const e = new Expressions()
    e.condition(
      `attribute_not_exists(${e.name(FIELD.id)}) OR ${e.name(FIELD.expiresAt)} <= ${e.value(num(Date.now()))}`,
    )
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: e.conditionExpression(),
          ...e.attributes(),
        }),
        { abortSignal: signal },
      )
      return 'saved'
    } catch (err) {
      if (isConditionFailure(err)) return 'collision'
      throw err
    }
  }

  /** The whole item of a create or rotation, refused before sending when over 400 KB. */
  private fullItem(id: string, meta: SessionMetaChange, attrs: Record<string, AttributeValue>) {
    if (meta.maxInactiveMs === undefined) {
      throw new SessionError('STORE_ERROR', 'a new or rotated session needs maxInactiveMs in its metadata')
    }
    const item = toItem(id, meta as FullMeta, attrs)
    const size = itemSize(item)
    if (size > MAX_ITEM_BYTES) throw tooLarge(id, size)
    return item
  }

  private run<T>(operation: string, id: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.closed) {
      return Promise.reject(
        new SessionError('STORE_UNAVAILABLE', `dynamodb ${operation}: the store is closed`),
      )
    }
    return bounded(operation, this.timeoutMs, id, fn)
  }
}
