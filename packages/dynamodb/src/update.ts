import { type AttributeValue, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb'
import { isConditionFailure } from './errors'
import { Expressions } from './expressions'
import { FIELD, mapKey, num, storedExpiresAt, ttlSeconds } from './item'

/**
 * Metadata of a save or touch of an existing record. Fields absent here were not changed by
 * this request and are left as stored.
 */
export interface MetaUpdate {
  lastAccessedAt: number
  expiresAt: number
  /** Present when this request changed the idle timeout: its `expiresAt` then wins even if shorter. */
  maxInactiveMs?: number
  /** `undefined`: unchanged; `null` (or ''): removed; a string: the new owner. */
  principal?: string | null
}

/** One attribute change: set to a value, or removed when `value` is undefined. */
export type AttributeOp = readonly [key: string, value: AttributeValue | undefined]

export interface UpdateTarget {
  client: DynamoDBClient
  tableName: string
  id: string
  signal: AbortSignal
}

/** After this many lost races the metadata is left to the fresher writers and only attributes go. */
const MAX_META_ATTEMPTS = 3

/**
 * A save or touch of an existing record: UpdateItem(s) conditioned on the item existing and
 * being live, so a deleted or expired session is never resurrected (answer false: `gone`).
 *
 * DynamoDB has no `max()`, so "a stale writer never shortens an expiry" is a condition: the
 * first request writes `expiresAt` (and the TTL) only if the stored one is not later
 * (`expiresAt <= :given`), and `lastAccessedAt` likewise. When that condition fails, DynamoDB
 * returns the stored item (ReturnValuesOnConditionCheckFailure: ALL_OLD) and the request is
 * sent again without the fields a fresher writer already moved further, so the attributes still
 * land. A request that changed the idle timeout (`maxInactiveMs` present) writes its
 * `expiresAt` unconditionally: shortening the timeout must shorten the expiry.
 *
 * An update expression is limited to 4 KB: attribute changes past about 150 go into further
 * UpdateItems with the same existence condition (not atomic with the first; see the README).
 */
export async function updateRecord(
  target: UpdateTarget,
  meta: MetaUpdate,
  ops: readonly AttributeOp[],
): Promise<boolean> {
  let writeExpiry = true
  let writeAccess = true
  let done = 0
  for (let attempt = 1; ; attempt++) {
    const e = liveCondition(new Expressions())
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
    if (typeof meta.principal === 'string' && meta.principal !== '')
      e.set([FIELD.principal], { S: meta.principal })
    else if (meta.principal !== undefined) e.remove([FIELD.principal])
    const consumed = addOps(e, ops, 0)
    if (e.isEmptyUpdate) return true
    try {
      await send(target, e)
      done = consumed
      break
    } catch (err) {
      if (!isConditionFailure(err)) throw err
      const stored = err.Item as Record<string, AttributeValue> | undefined
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
  while (done < ops.length) {
    const e = liveCondition(new Expressions())
    const next = addOps(e, ops, done)
    try {
      await send(target, e)
    } catch (err) {
      if (isConditionFailure(err)) return false
      throw err
    }
    done = next
  }
  return true
}

function liveCondition(e: Expressions): Expressions {
  e.condition(`attribute_exists(${e.name(FIELD.id)})`)
  e.condition(`${e.name(FIELD.expiresAt)} > ${e.value(num(Date.now()))}`)
  return e
}

/** Adds attribute changes from `from` while the expression has room; answers where it stopped. */
function addOps(e: Expressions, ops: readonly AttributeOp[], from: number): number {
  let i = from
  // At least one per request, so a long name can never stall the loop.
  for (; i < ops.length && (i === from || e.hasRoom); i++) {
    const [key, value] = ops[i]!
    if (value === undefined) e.remove([FIELD.attributes, key])
    else e.set([FIELD.attributes, key], value)
  }
  return i
}

async function send(target: UpdateTarget, e: Expressions): Promise<void> {
  await target.client.send(
    new UpdateItemCommand({
      TableName: target.tableName,
      Key: { [FIELD.id]: { S: target.id } },
      UpdateExpression: e.updateExpression(),
      ConditionExpression: e.conditionExpression(),
      ...e.attributes(),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }),
    { abortSignal: target.signal },
  )
}

/** The attribute changes of a save, as map keys. */
export function attributeOps(set: Record<string, AttributeValue>, removed: readonly string[]): AttributeOp[] {
  const ops: AttributeOp[] = Object.entries(set).map(([key, value]) => [key, value] as const)
  for (const name of removed) if (!Object.hasOwn(set, mapKey(name))) ops.push([mapKey(name), undefined])
  return ops
}
