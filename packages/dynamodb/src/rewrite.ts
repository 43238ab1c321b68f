import { type AttributeValue, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { SessionError } from '@sessionkit/core'
import { isConditionFailure } from './errors'
import { Expressions } from './expressions'
import { FIELD, itemSize, MAX_ITEM_BYTES, num, storedExpiresAt, tooLarge, ttlSeconds } from './item'
import { appliedMark, hasMark, withMark } from './marks'
import type { AttributeOp, MetaUpdate, UpdateTarget } from './update'

/** Concurrent writers to one session settle quickly; past this many lost races, give up. */
const MAX_ATTEMPTS = 5

/**
 * A save too large for one update expression (more than about 150 attribute changes): read the
 * item consistently, apply the change to it, and put it back conditioned on its version being
 * the one read (every write bumps it) and on it being live. One GetItem plus one PutItem,
 * atomic like an UpdateItem; a concurrent write makes the put fail and the whole step repeat.
 * The metadata rule is applied to the values read: stored `expiresAt` and `lastAccessedAt`
 * become max(stored, given), except that a changed idle timeout writes its expiry.
 */
export async function rewriteRecord(
  target: UpdateTarget,
  meta: MetaUpdate,
  ops: readonly AttributeOp[],
): Promise<boolean> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const { Item } = await target.client.send(
      new GetItemCommand({
        TableName: target.tableName,
        Key: { [FIELD.id]: { S: target.id } },
        ConsistentRead: true,
      }),
      { abortSignal: target.signal },
    )
    // A put of this save whose answer was lost (the SDK sent it again) ran: nothing more to do.
    if (hasMark(Item, appliedMark(target.marks.token))) return true
    const now = Date.now()
    const storedExpiry = storedExpiresAt(Item)
    if (Item === undefined || storedExpiry === undefined || storedExpiry <= now) return false
    const next = withMark(applyChange(Item, storedExpiry, meta, ops), target.marks, Item)
    const size = itemSize(next)
    if (size > MAX_ITEM_BYTES) throw tooLarge(target.id, size)

    const e = new Expressions()
    const seen = Item[FIELD.version]
    if (seen?.N === undefined) {
      e.condition(`attribute_exists(${e.name(FIELD.id)}) AND attribute_not_exists(${e.name(FIELD.version)})`)
    } else {
      e.condition(`${e.name(FIELD.version)} = ${e.value(seen)}`)
    }
    e.condition(`${e.name(FIELD.expiresAt)} > ${e.value(num(now))}`)
    try {
      // Conditioned on `ver`, which a fence bumps too: a late copy of this put never lands.
      await target.client.send(
        target.delivery.watch(
          new PutItemCommand({
            TableName: target.tableName,
            Item: next,
            ConditionExpression: e.conditionExpression(),
            ...e.attributes(),
          }),
        ),
        { abortSignal: target.signal },
      )
      return true
    } catch (err) {
      // Written, deleted or expired meanwhile: the next read tells which.
      if (!isConditionFailure(err)) throw err
    }
  }
  throw new SessionError(
    'STORE_UNAVAILABLE',
    `dynamodb save: session ${target.id.slice(0, 6)}… kept changing under ${MAX_ATTEMPTS} attempts to rewrite it`,
  )
}

function applyChange(
  item: Record<string, AttributeValue>,
  storedExpiry: number,
  meta: MetaUpdate,
  ops: readonly AttributeOp[],
): Record<string, AttributeValue> {
  const next: Record<string, AttributeValue> = { ...item }
  // null prototype: stored keys are prefixed, but a foreign writer's need not be
  const attrs: Record<string, AttributeValue> = Object.assign(Object.create(null), item[FIELD.attributes]?.M)
  for (const [key, value] of ops) {
    if (value === undefined) delete attrs[key]
    else attrs[key] = value
  }
  next[FIELD.attributes] = { M: attrs }
  const expiresAt = meta.maxInactiveMs !== undefined ? meta.expiresAt : Math.max(storedExpiry, meta.expiresAt)
  next[FIELD.expiresAt] = num(expiresAt)
  next[FIELD.ttl] = num(ttlSeconds(expiresAt))
  const storedAccess = Number(item[FIELD.lastAccessedAt]?.N)
  next[FIELD.lastAccessedAt] = num(
    Number.isSafeInteger(storedAccess) ? Math.max(storedAccess, meta.lastAccessedAt) : meta.lastAccessedAt,
  )
  if (meta.maxInactiveMs !== undefined) next[FIELD.maxInactiveMs] = num(meta.maxInactiveMs)
  if (typeof meta.principal === 'string' && meta.principal !== '')
    next[FIELD.principal] = { S: meta.principal }
  else if (meta.principal !== undefined) delete next[FIELD.principal]
  next[FIELD.version] = num(Number(item[FIELD.version]?.N ?? 0) + 1)
  return next
}
