import { type AttributeValue, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb'
import type { SessionMetaChange } from '@sessionkit/core'
import type { Delivery } from './delivery'
import { isConditionFailure } from './errors'
import { Expressions } from './expressions'
import { FIELD, mapKey, num, storedExpiresAt, ttlSeconds } from './item'
import { addMark, appliedMark, conditionFirst, hasMark, type Marks } from './marks'
import { rewriteRecord } from './rewrite'

/**
 * Metadata of a save or touch of an existing record (core's delta, without `createdAt`, which
 * only a create writes): fields absent were not changed by this request and stay as stored.
 */
export type MetaUpdate = Omit<SessionMetaChange, 'createdAt'>

/** One attribute change: set to a value, or removed when `value` is undefined. */
export type AttributeOp = readonly [key: string, value: AttributeValue | undefined]

export interface UpdateTarget {
  client: DynamoDBClient
  tableName: string
  id: string
  signal: AbortSignal
  /** This operation's token (one for all its requests: at most one of them can run). */
  marks: Marks
  /** Watches the writes, so that a lost answer is told from a request that never ran. */
  delivery: Delivery
}

/** After this many lost races the metadata is left to the fresher writers and only attributes go. */
const MAX_META_ATTEMPTS = 3

/**
 * A save or touch of an existing record: one UpdateItem conditioned on the item existing and
 * being live, so a deleted or expired session is never resurrected (answer false: `gone`).
 *
 * DynamoDB has no `max()`, so "a stale writer never shortens an expiry" is a condition: the
 * request writes `expiresAt` (and the TTL) only if the stored one is not later
 * (`expiresAt <= :given`), and `lastAccessedAt` likewise. When that condition fails, DynamoDB
 * returns the stored item (ReturnValuesOnConditionCheckFailure: ALL_OLD) and the request is
 * sent again without the fields a fresher writer already moved further, so the attributes still
 * land. A request that changed the idle timeout (`maxInactiveMs` present) writes its
 * `expiresAt` unconditionally: shortening the timeout must shorten the expiry.
 *
 * A change whose update expression would pass DynamoDB's 4 KB limit is written by
 * {@link rewriteRecord} instead.
 */
export async function updateRecord(
  target: UpdateTarget,
  meta: MetaUpdate,
  ops: readonly AttributeOp[],
): Promise<boolean> {
  let writeExpiry = true
  let writeAccess = true
  for (let attempt = 1; ; attempt++) {
    const e = liveCondition(new Expressions())
    conditionFirst(e, target.marks)
    if (writeExpiry) {
      e.set([FIELD.expiresAt], num(meta.expiresAt))
      e.set([FIELD.ttl], num(ttlSeconds(meta.expiresAt)))
      if (meta.maxInactiveMs === undefined) {
        e.condition(`${e.name(FIELD.expiresAt)} <= ${e.value(num(meta.expiresAt))}`)
      }
    }
    if (writeAccess) {
      e.set([FIELD.lastAccessedAt], num(meta.lastAccessedAt))
      e.condition(`${e.name(FIELD.lastAccessedAt)} <= ${e.value(num(meta.lastAccessedAt))}`)
    }
    if (meta.maxInactiveMs !== undefined) e.set([FIELD.maxInactiveMs], num(meta.maxInactiveMs))
    const principalChanged = meta.principal !== undefined
    if (typeof meta.principal === 'string' && meta.principal !== '') {
      e.set([FIELD.principal], { S: meta.principal })
    } else if (principalChanged) e.remove([FIELD.principal])
    // Nothing left to write: an earlier attempt found the session live with fresher metadata.
    if (
      !writeExpiry &&
      !writeAccess &&
      ops.length === 0 &&
      meta.maxInactiveMs === undefined &&
      !principalChanged
    )
      return true
    const version = e.name(FIELD.version)
    e.assign([FIELD.version], `if_not_exists(${version}, ${e.value(num(0))}) + ${e.value(num(1))}`)
    for (const [key, value] of ops) {
      if (value === undefined) e.remove([FIELD.attributes, key])
      else e.set([FIELD.attributes, key], value)
    }
    addMark(e, target.marks, appliedMark(target.marks.token))
    if (!e.fits) return rewriteRecord(target, meta, ops)
    try {
      await send(target, e)
      return true
    } catch (err) {
      if (!isConditionFailure(err)) throw err
      const stored = err.Item as Record<string, AttributeValue> | undefined
      // An earlier copy of this request ran (the SDK sent it again after losing its answer).
      if (hasMark(stored, appliedMark(target.marks.token))) return true
      const storedExpiry = storedExpiresAt(stored)
      if (storedExpiry === undefined || storedExpiry <= Date.now()) return false
      const storedAccess = Number(stored?.[FIELD.lastAccessedAt]?.N)
      // A fresher writer moved a field further: leave it. A lost race on a field we may still
      // write (the stored value changed again meanwhile) is retried with the new knowledge.
      if (meta.maxInactiveMs === undefined && !(storedExpiry <= meta.expiresAt)) writeExpiry = false
      if (!(storedAccess <= meta.lastAccessedAt)) writeAccess = false
      if (attempt >= MAX_META_ATTEMPTS) {
        writeExpiry = meta.maxInactiveMs !== undefined && writeExpiry
        writeAccess = false
      }
      if (attempt > MAX_META_ATTEMPTS) throw err
    }
  }
}

function liveCondition(e: Expressions): Expressions {
  e.condition(`attribute_exists(${e.name(FIELD.id)})`)
  e.condition(`${e.name(FIELD.expiresAt)} > ${e.value(num(Date.now()))}`)
  return e
}

async function send(target: UpdateTarget, e: Expressions): Promise<void> {
  await target.client.send(
    target.delivery.watch(
      new UpdateItemCommand({
        TableName: target.tableName,
        Key: { [FIELD.id]: { S: target.id } },
        UpdateExpression: e.updateExpression(),
        ConditionExpression: e.conditionExpression(),
        ...e.attributes(),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    ),
    { abortSignal: target.signal },
  )
}

/** The attribute changes of a save, as map keys (`set` is already keyed by {@link mapKey}). */
export function attributeOps(set: Record<string, AttributeValue>, removed: readonly string[]): AttributeOp[] {
  const ops: AttributeOp[] = Object.entries(set).map(([key, value]) => [key, value] as const)
  for (const name of removed) if (!Object.hasOwn(set, mapKey(name))) ops.push([mapKey(name), undefined])
  return ops
}
