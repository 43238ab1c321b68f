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
import { isSessionError, SessionError } from '@sessionkit/core'
import { Delivery } from './delivery'
import { bounded, isConditionFailure } from './errors'
import { Expressions } from './expressions'
import { BACKGROUND_MS, type Fenced, fence, repeatUntilAnswered } from './fence'
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
import { appliedMark, conditionFirst, hasMark, type Marks, marksFor, newToken, withMark } from './marks'
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
   * When a write's answer is lost (its `operationTimeoutMs` passed, a connection reset), how
   * much longer in ms the store may take to find out whether it ran before answering: it ran
   * (the write's answer), or it did not and now cannot (STORE_UNAVAILABLE). Default 1000. See the
   * README, "When a write's answer is lost".
   */
  resolveTimeoutMs?: number
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
 * - Every operation settles within `operationTimeoutMs`, a write whose answer was lost within
 *   `operationTimeoutMs + resolveTimeoutMs` (the answer then says whether it ran; README,
 *   "When a write's answer is lost"); outages and throttling surface as
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
  private readonly resolveMs: number
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
    const resolve = options.resolveTimeoutMs ?? 1000
    if (!(Number.isFinite(resolve) && resolve > 0)) {
      throw new SessionError('INVALID_OPTIONS', 'resolveTimeoutMs must be a positive number')
    }
    this.resolveMs = resolve
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
    if (previousId !== undefined && previousId !== id) {
      return this.run('save', id, async () => {
        if (!isStorableId(id)) throw new SessionError('INVALID_ID', 'session id is empty or over 2048 bytes')
        const attrs = await encodeAttributes(set)
        if (!isStorableId(previousId)) return 'gone'
        return rotate(this.rotation, previousId, this.fullItem(id, meta, attrs), deadline)
      })
    }
    const marks = marksFor(newToken())
    const create = change.isNew
    return this.write(
      'save',
      id,
      marks,
      create,
      async (signal, delivery) => {
        if (!isStorableId(id)) throw new SessionError('INVALID_ID', 'session id is empty or over 2048 bytes')
        const attrs = await encodeAttributes(set)
        if (create) return this.create(this.fullItem(id, meta, attrs), marks, signal, delivery)
        let size = 0
        for (const [key, value] of Object.entries(attrs))
          size += Buffer.byteLength(key) + valueSize(value) + 1
        if (size > MAX_ITEM_BYTES) throw tooLarge(id, size)
        const live = await updateRecord(
          { client: this.client, tableName: this.tableName, id, signal, marks, delivery },
          meta,
          attributeOps(attrs, removed),
        )
        return live ? 'saved' : 'gone'
      },
      (found) => (found === 'applied' ? 'saved' : 'gone'),
    )
  }

  async touch(id: string, meta: SessionTouch): Promise<boolean> {
    // Only these two: a touch never writes owner or idle timeout, whatever else the caller passed.
    const copy: MetaUpdate = { lastAccessedAt: meta.lastAccessedAt, expiresAt: meta.expiresAt }
    const marks = marksFor(newToken())
    return this.write(
      'touch',
      id,
      marks,
      false,
      async (signal, delivery) => {
        if (!isStorableId(id)) return false
        return updateRecord(
          { client: this.client, tableName: this.tableName, id, signal, marks, delivery },
          copy,
          [],
        )
      },
      (found) => found === 'applied',
    )
  }

  async delete(id: string): Promise<void> {
    if (!isStorableId(id)) return this.run('delete', id, async () => undefined)
    const delivery = new Delivery()
    const command = () =>
      delivery.watch(new DeleteItemCommand({ TableName: this.tableName, Key: { [FIELD.id]: { S: id } } }))
    try {
      await this.run('delete', id, async (signal) => {
        await this.client.send(command(), { abortSignal: signal })
      })
    } catch (err) {
      if (!delivery.inDoubt || !isSessionError(err, 'STORE_UNAVAILABLE')) throw err
      // A delete can be sent again as often as needed: every copy leaves the id absent.
      const repeat = (until: number) => repeatUntilAnswered(this.client, command, until, this.timeoutMs)
      if (await repeat(performance.now() + this.resolveMs)) return
      this.resolutions.track(repeat(performance.now() + BACKGROUND_MS))
      throw err
    }
  }

  async findByPrincipal(principal: string): Promise<SessionRecord[]> {
    return this.run('findByPrincipal', '', (signal) =>
      findByPrincipal(this.client, this.tableName, principal, this.consistentReads, signal),
    )
  }

  /**
   * Resolves once every rotation this store answered without knowing its outcome has been
   * replayed until DynamoDB told it (at most {@link RESOLVE_MS}; see the README, "Rotation"),
   * and every write answered STORE_UNAVAILABLE while in doubt has been fenced or repeated in the
   * background (a few minutes at most; README, "When a write's answer is lost").
   * Meant for tests and graceful shutdown; requests never need it.
   */
  settled(): Promise<void> {
    return this.resolutions.settled()
  }

  /** Later operations reject with STORE_UNAVAILABLE. The client stays open: it is yours. */
  async close(): Promise<void> {
    this.closed = true
  }

  /**
   * Create: a PutItem that succeeds only when the id is free or its record expired, and no copy
   * of it ran or was fenced (marks.ts).
   */
  private async create(
    item: Record<string, AttributeValue>,
    marks: Marks,
    signal: AbortSignal,
    delivery: Delivery,
  ): Promise<SaveResult> {
    const e = new Expressions()
    e.condition(
      `attribute_not_exists(${e.name(FIELD.id)}) OR ${e.name(FIELD.expiresAt)} <= ${e.value(num(Date.now()))}`,
    )
    conditionFirst(e, marks)
    try {
      await this.client.send(
        delivery.watch(
          new PutItemCommand({
            TableName: this.tableName,
            Item: withMark(item, marks),
            ConditionExpression: e.conditionExpression(),
            ...e.attributes(),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
        { abortSignal: signal },
      )
      return 'saved'
    } catch (err) {
      if (!isConditionFailure(err)) throw err
      // The SDK sent the put again after losing the answer of a copy that ran.
      return hasMark(err.Item as never, appliedMark(marks.token)) ? 'saved' : 'collision'
    }
  }

  /**
   * A save, create or touch, with the truth about a lost answer: when the request may have
   * reached DynamoDB unanswered, the store fences it (fence.ts) for up to `resolveTimeoutMs`
   * and answers what it ran into: `found` maps "it ran" or "the item is gone" to the answer;
   * "it did not and now cannot" keeps the STORE_UNAVAILABLE. If DynamoDB answers no fence in
   * time, the answer is STORE_UNAVAILABLE and the fence goes on in the background.
   */
  private async write<T>(
    operation: string,
    id: string,
    marks: Marks,
    create: boolean,
    fn: (signal: AbortSignal, delivery: Delivery) => Promise<T>,
    found: (outcome: Exclude<Fenced, 'not applied' | 'unknown'>) => T,
  ): Promise<T> {
    const started = performance.now()
    const delivery = new Delivery()
    try {
      return await this.run(operation, id, (signal) => fn(signal, delivery))
    } catch (err) {
      if (!delivery.inDoubt || !isSessionError(err, 'STORE_UNAVAILABLE')) throw err
      const target = { client: this.client, tableName: this.tableName, id, token: marks.token, create }
      const outcome = await fence(target, performance.now() + this.resolveMs, this.timeoutMs)
      if (outcome === 'applied' || outcome === 'absent') return found(outcome)
      if (outcome === 'unknown') {
        this.resolutions.track(fence(target, started + BACKGROUND_MS, this.timeoutMs))
      }
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
