import {
  type AttributeValue,
  type DynamoDBClient,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb'
import type { SaveResult } from '@sessionkit/core'
import { Expressions } from './expressions'
import { FIELD, num } from './item'

interface CancellationReason {
  Code?: string
}

/** Another transaction held one of the two items; it settles within milliseconds. */
const CONFLICT_RETRY_MS = [5, 20, 50, 100, 200, 400]

/**
 * Rotation as one TransactWriteItems: put the new item (only if its id is free or expired) and
 * delete the old one (only if it exists and is live), both or neither. Of two concurrent
 * rotations of one id exactly one can delete it, so exactly one wins; a failed or timed-out
 * transaction leaves the old session as it was, and no item appears that no client holds.
 */
export async function rotate(
  client: DynamoDBClient,
  tableName: string,
  previousId: string,
  item: Record<string, AttributeValue>,
  signal: AbortSignal,
): Promise<SaveResult> {
  for (let attempt = 0; ; attempt++) {
    const reasons = await send(client, transaction(tableName, previousId, item, Date.now()), signal)
    if (reasons === undefined) return 'saved'
    const [put, del] = reasons
    // The old record decides first: a gone session cannot collide.
    if (del?.Code === 'ConditionalCheckFailed') return 'gone'
    if (put?.Code === 'ConditionalCheckFailed') return 'collision'
    const retry = CONFLICT_RETRY_MS[attempt]
    if (reasons.some((r) => r.Code === 'TransactionConflict') && retry !== undefined && !signal.aborted) {
      // A concurrent rotation (or save) of the same item is in flight: once it settles, the
      // conditions give the answer. Jitter keeps two losers from meeting again.
      await new Promise((resolve) => setTimeout(resolve, retry * (0.5 + Math.random())))
      continue
    }
    throw Object.assign(
      new Error(`rotation transaction cancelled: ${reasons.map((r) => r.Code).join(', ')}`),
      {
        name: 'TransactionCanceledException',
        // Capacity and conflicts are transient: the caller maps retryable to STORE_UNAVAILABLE.
        $retryable: reasons.some((r) => r.Code === 'ThrottlingError' || r.Code === 'TransactionConflict')
          ? {}
          : undefined,
      },
    )
  }
}

/** Undefined when the transaction committed, else the reason per item (put, delete). */
async function send(
  client: DynamoDBClient,
  input: TransactWriteItemsCommandInput,
  signal: AbortSignal,
): Promise<CancellationReason[] | undefined> {
  try {
    await client.send(new TransactWriteItemsCommand(input), { abortSignal: signal })
    return undefined
  } catch (err) {
    const e = err as { name?: string; CancellationReasons?: CancellationReason[] }
    if (e?.name === 'TransactionCanceledException' && Array.isArray(e.CancellationReasons)) {
      return e.CancellationReasons
    }
    throw err
  }
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
