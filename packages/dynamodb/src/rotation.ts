import { randomUUID } from 'node:crypto'
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb'
import type { SaveResult } from '@sessionkit/core'
import { mayHaveRun } from './delivery'
import { Expressions } from './expressions'
import { FIELD, num } from './item'
import type { Resolutions } from './resolutions'

interface CancellationReason {
  Code?: string
}

/** What one copy of the transaction tells: committed, refused for good, or nothing certain. */
type Verdict = SaveResult | 'retry' | 'unknown'

/** What a rotation needs from its store. */
export interface RotationContext {
  client: DynamoDBClient
  tableName: string
  resolutions: Resolutions
  /** Bound of one copy sent in the background (the store's `operationTimeoutMs`). */
  attemptMs: number
}

/**
 * How long after answering a rotation goes on replaying its transaction until DynamoDB says
 * whether it committed: well inside the 10 minutes a ClientRequestToken is remembered, so a
 * replay never runs as a second transaction.
 */
export const RESOLVE_MS = 5 * 60_000

/** Pauses between copies, in ms (conflicts settle within milliseconds); the last one repeats. */
const BACKOFF_MS = [5, 20, 50, 100, 200, 400, 1000]

/**
 * Rotation as one TransactWriteItems: put the new item (only if its id is free or expired) and
 * delete the old one (only if it exists and is live), both or neither. Of two concurrent
 * rotations of one id exactly one can delete it, so exactly one wins.
 *
 * A transaction whose answer is lost (a timeout, a reset connection, a paused server) may
 * still commit, so it is never simply reported as failed: it carries a ClientRequestToken and
 * is sent again, identical, until one copy answers. DynamoDB runs a token at most once (for 10
 * minutes): a copy that succeeds means the rotation committed, once, by whichever copy arrived
 * first; a copy cancelled by a condition means it did not, and cannot any more. If no copy
 * answers before the caller's deadline, the answer is `saved` and the copies go on in the
 * background ({@link RESOLVE_MS}), which forces the outcome the answer named: a copy that lands
 * commits the rotation. The other answer, STORE_UNAVAILABLE, would be false once a late copy
 * commits (the old id dead, the new one never sent: the user logged out), and undoing a commit
 * needs the old item's data, which the transaction deleted: putting the rotated data back under
 * the old id would hand a logged-in session to whoever knew the old id, the fixation a rotation
 * at login exists to prevent. A copy cancelled by a condition after that answer means a logout
 * or a concurrent rotation took the old id first, and nothing was written.
 *
 * Only when no copy can have reached DynamoDB (every attempt refused the connection, or was
 * refused by DynamoDB before running) is the answer STORE_UNAVAILABLE: the old id is untouched.
 *
 * @param deadline `performance.now()` by which the caller needs its answer.
 */
export async function rotate(
  ctx: RotationContext,
  previousId: string,
  item: Record<string, AttributeValue>,
  deadline: number,
): Promise<SaveResult> {
  const input = transaction(ctx.tableName, previousId, item, Date.now())
  const delivery = { uncertain: false }
  let failure: unknown
  for (let attempt = 0; ; attempt++) {
    const remaining = deadline - performance.now()
    if (remaining <= 0) break
    const verdict = await sendOnce(
      ctx.client,
      input,
      AbortSignal.timeout(Math.max(1, Math.ceil(remaining))),
      delivery,
    ).catch((err: unknown) => {
      failure = err
      return 'unknown' as const
    })
    if (verdict === 'gone' && delivery.uncertain) return (await exists(ctx, item)) ? 'saved' : 'gone'
    if (verdict !== 'retry' && verdict !== 'unknown') return verdict
    // Refused before running, and no earlier copy in doubt: nothing happened; fail fast.
    if (verdict === 'unknown' && !delivery.uncertain && !mayHaveRun(failure)) throw failure
    const pause = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]! * (0.5 + Math.random())
    if (performance.now() + pause >= deadline) break
    await sleep(pause)
  }
  if (!delivery.uncertain) {
    throw (
      failure ??
      Object.assign(new Error('rotation transaction cancelled: TransactionConflict'), {
        name: 'TransactionCanceledException',
        // Conflicts are transient: the caller maps retryable to STORE_UNAVAILABLE.
        $retryable: {},
      })
    )
  }
  ctx.resolutions.track(replay(ctx, input), item[FIELD.id]!.S)
  return 'saved'
}

/**
 * After a copy in doubt, `gone` from a later copy means "not committed" only while DynamoDB
 * remembers the token; a server that forgot it (DynamoDB Local restarted) runs the copy afresh
 * and finds the old id gone because the first copy committed. The new id is random, so an item
 * under it can only be this rotation's. A failed read trusts the verdict.
 */
async function exists(ctx: RotationContext, item: Record<string, AttributeValue>): Promise<boolean> {
  const { Item } = await ctx.client
    .send(
      new GetItemCommand({
        TableName: ctx.tableName,
        Key: { [FIELD.id]: item[FIELD.id]! },
        ConsistentRead: true,
        ProjectionExpression: '#id',
        ExpressionAttributeNames: { '#id': FIELD.id },
      }),
      { abortSignal: AbortSignal.timeout(Math.ceil(ctx.attemptMs)) },
    )
    .catch(() => ({ Item: undefined }))
  return Item !== undefined
}

/** Sends the identical transaction until a copy tells whether it committed, or gives up. */
async function replay(ctx: RotationContext, input: TransactWriteItemsCommandInput): Promise<Verdict> {
  const until = performance.now() + RESOLVE_MS
  const delivery = { uncertain: false }
  for (let attempt = 0; performance.now() < until; attempt++) {
    const verdict = await sendOnce(
      ctx.client,
      input,
      AbortSignal.timeout(Math.ceil(ctx.attemptMs)),
      delivery,
    ).catch(() => 'unknown' as const)
    if (verdict !== 'retry' && verdict !== 'unknown') return verdict
    await sleep(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!)
  }
  return 'unknown'
}

/**
 * One copy of the transaction. `delivery.uncertain` becomes true as soon as any attempt (the
 * SDK's own retries included, watched per attempt) may have reached DynamoDB without an answer.
 */
async function sendOnce(
  client: DynamoDBClient,
  input: TransactWriteItemsCommandInput,
  signal: AbortSignal,
  delivery: { uncertain: boolean },
): Promise<Verdict> {
  const command = new TransactWriteItemsCommand(input)
  command.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args)
      } catch (err) {
        if (mayHaveRun(err)) delivery.uncertain = true
        throw err
      }
    },
    { step: 'deserialize', name: 'sessionkitDelivery' },
  )
  try {
    await client.send(command, { abortSignal: signal })
    return 'saved'
  } catch (err) {
    const e = err as { name?: string; CancellationReasons?: CancellationReason[] }
    if (e?.name === 'TransactionCanceledException' && Array.isArray(e.CancellationReasons)) {
      const [put, del] = e.CancellationReasons
      // The old record decides first: a gone session cannot collide.
      if (del?.Code === 'ConditionalCheckFailed') return 'gone'
      if (put?.Code === 'ConditionalCheckFailed') return 'collision'
      // A conflict with a concurrent write, or throttling: this copy did not run; send again.
      return 'retry'
    }
    if (mayHaveRun(err)) delivery.uncertain = true
    throw err
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

function transaction(
  tableName: string,
  previousId: string,
  item: Record<string, AttributeValue>,
  now: number,
): TransactWriteItemsCommandInput {
  const put = new Expressions()
  put.condition(
    `attribute_not_exists(${put.name(FIELD.id)}) OR ${put.name(FIELD.expiresAt)} <= ${put.value(num(now))}`,
  )
  const del = new Expressions()
  del.condition(`attribute_exists(${del.name(FIELD.id)})`)
  del.condition(`${del.name(FIELD.expiresAt)} > ${del.value(num(now))}`)
  return {
    // The same token on every copy: DynamoDB runs it at most once (see rotate).
    ClientRequestToken: randomUUID(),
    TransactItems: [
      {
        Put: {
          TableName: tableName,
          Item: item,
          ConditionExpression: put.conditionExpression(),
          ...put.attributes(),
        },
      },
      {
        Delete: {
          TableName: tableName,
          Key: { [FIELD.id]: { S: previousId } },
          ConditionExpression: del.conditionExpression(),
          ...del.attributes(),
        },
      },
    ],
  }
}
