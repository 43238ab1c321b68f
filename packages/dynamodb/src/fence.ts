import { type DeleteItemCommand, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb'
import { isConditionFailure } from './errors'
import { Expressions } from './expressions'
import { FIELD, num, ttlSeconds } from './item'
import { appliedMark, conditionAbsent, fencedMark, hasMark, MARK_MS, marksFor } from './marks'

/**
 * What a fence found out about a write whose answer was lost: it ran (once), it did not and now
 * cannot, the item is gone (so a save or touch cannot land either), or DynamoDB answered no copy
 * of the fence in time.
 */
export type Fenced = 'applied' | 'not applied' | 'absent' | 'unknown'

export interface FenceTarget {
  client: DynamoDBClient
  tableName: string
  id: string
  token: string
  /**
   * A create's fence also covers an id with no item: it leaves an expired placeholder holding
   * the fence mark (its TTL reaps it), so the create's put, which asks for a free id or an
   * expired item and no mark of its own, can never land. A save's or touch's fence writes only to
   * an existing item: their writes need one.
   */
  create: boolean
}

/**
 * How long after its start a write still in doubt is fenced in the background: marks stay at
 * least {@link MARK_MS}, so the write's own mark, if it ran, is still there to be found.
 */
export const BACKGROUND_MS = MARK_MS - 60_000

/** Pauses between copies, in ms; the last one repeats. */
const BACKOFF_MS = [5, 20, 50, 100, 200, 400, 1000]

/**
 * Writes the write's fence mark on the condition that its applied mark is absent, and sends that
 * again (every copy is harmless: a set gains the same member) until one copy answers or
 * `until` (`performance.now()`) passes. Each copy waits at most `attemptMs`.
 */
export async function fence(target: FenceTarget, until: number, attemptMs: number): Promise<Fenced> {
  for (let attempt = 0; ; attempt++) {
    const remaining = until - performance.now()
    if (remaining <= 0) return 'unknown'
    try {
      await target.client.send(fenceCommand(target), {
        abortSignal: AbortSignal.timeout(Math.max(1, Math.ceil(Math.min(remaining, attemptMs)))),
      })
      return 'not applied'
    } catch (err) {
      if (isConditionFailure(err)) {
        if (hasMark(err.Item as never, appliedMark(target.token))) return 'applied'
        if (err.Item === undefined) return 'absent'
      }
      // Anything else (a timeout, throttling, a conflict) told nothing: send it again.
    }
    if (!(await pause(attempt, until))) return 'unknown'
  }
}

/**
 * Sends a request that every copy leaves in the same state (a delete) until a copy answers
 * (true) or `until` (`performance.now()`) passes (false). Each copy waits at most `attemptMs`.
 */
export async function repeatUntilAnswered(
  client: DynamoDBClient,
  command: () => DeleteItemCommand,
  until: number,
  attemptMs: number,
): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const remaining = until - performance.now()
    if (remaining <= 0) return false
    try {
      await client.send(command(), {
        abortSignal: AbortSignal.timeout(Math.max(1, Math.ceil(Math.min(remaining, attemptMs)))),
      })
      return true
    } catch {
      if (!(await pause(attempt, until))) return false
    }
  }
}

/** Waits before the next copy; false when that would pass `until`. */
async function pause(attempt: number, until: number): Promise<boolean> {
  const ms = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]! * (0.5 + Math.random())
  if (performance.now() + ms >= until) return false
  await new Promise((resolve) => setTimeout(resolve, ms).unref())
  return true
}

function fenceCommand(target: FenceTarget): UpdateItemCommand {
  const now = Date.now()
  const marks = marksFor(target.token, now)
  const e = new Expressions()
  if (!target.create) e.condition(`attribute_exists(${e.name(FIELD.id)})`)
  conditionAbsent(e, appliedMark(target.token))
  e.add([marks.slot], { SS: [fencedMark(target.token)] })
  // A bumped version also stops a late copy of a large save's put, which is conditioned on it.
  const version = e.name(FIELD.version)
  e.assign([FIELD.version], `if_not_exists(${version}, ${e.value(num(0))}) + ${e.value(num(1))}`)
  if (target.create) {
    const expiresAt = e.name(FIELD.expiresAt)
    const ttl = e.name(FIELD.ttl)
    e.assign([FIELD.expiresAt], `if_not_exists(${expiresAt}, ${e.value(num(0))})`)
    e.assign([FIELD.ttl], `if_not_exists(${ttl}, ${e.value(num(ttlSeconds(now + 3 * MARK_MS)))})`)
  }
  return new UpdateItemCommand({
    TableName: target.tableName,
    Key: { [FIELD.id]: { S: target.id } },
    UpdateExpression: e.updateExpression(),
    ConditionExpression: e.conditionExpression(),
    ...e.attributes(),
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  })
}
