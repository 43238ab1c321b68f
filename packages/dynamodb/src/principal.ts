import {
  type AttributeValue,
  BatchGetItemCommand,
  type DynamoDBClient,
  QueryCommand,
} from '@aws-sdk/client-dynamodb'
import type { SessionRecord } from '@sessionkit/core'
import { isSessionError } from '@sessionkit/core'
import { Expressions } from './expressions'
import { FIELD, fromItem } from './item'
import { PRINCIPAL_INDEX } from './table'

/** BatchGetItem takes at most 100 keys. */
const BATCH = 100

/**
 * The live sessions of `principal`: ids from the GSI (eventually consistent: it can lag the
 * table by a fraction of a second), then the items themselves with BatchGetItem, read
 * consistently unless told otherwise, and kept only when live and still owned by `principal`.
 * So a deleted, expired or re-owned session is never returned; one saved with this principal
 * within the GSI's lag can be missing.
 */
export async function findByPrincipal(
  client: DynamoDBClient,
  tableName: string,
  principal: string,
  consistentRead: boolean,
  signal: AbortSignal,
): Promise<SessionRecord[]> {
  // Not a key the GSI can hold (empty, or over 2048 bytes): no session can have it.
  if (principal === '' || Buffer.byteLength(principal) > 2048) return []
  const ids = await indexedIds(client, tableName, principal, signal)
  // The batches go out together: a principal with thousands of sessions costs one round trip
  // of BatchGetItem calls, not one per hundred ids, within the operation's one deadline.
  const batches: Promise<Record<string, AttributeValue>[]>[] = []
  for (let i = 0; i < ids.length; i += BATCH) {
    batches.push(batchGet(client, tableName, ids.slice(i, i + BATCH), consistentRead, signal))
  }
  const items = (await Promise.all(batches)).flat()
  const now = Date.now()
  const records = await Promise.all(
    items.map((item) =>
      fromItem(item, now).catch((err: unknown) => {
        // One unreadable session must not hide the others; load reports it when it is used.
        if (isSessionError(err, 'CORRUPT_RECORD')) return undefined
        throw err
      }),
    ),
  )
  return records.filter((r): r is SessionRecord => r !== undefined && r.principal === principal)
}

async function indexedIds(
  client: DynamoDBClient,
  tableName: string,
  principal: string,
  signal: AbortSignal,
): Promise<string[]> {
  const ids = new Set<string>()
  let start: Record<string, AttributeValue> | undefined
  do {
    const e = new Expressions()
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: PRINCIPAL_INDEX,
        KeyConditionExpression: `${e.name(FIELD.principal)} = ${e.value({ S: principal })}`,
        ...e.attributes(),
        ExclusiveStartKey: start,
      }),
      { abortSignal: signal },
    )
    for (const item of page.Items ?? []) {
      const id = item[FIELD.id]?.S
      if (id !== undefined) ids.add(id)
    }
    start = page.LastEvaluatedKey
  } while (start !== undefined)
  return [...ids]
}

async function batchGet(
  client: DynamoDBClient,
  tableName: string,
  ids: string[],
  consistentRead: boolean,
  signal: AbortSignal,
): Promise<Record<string, AttributeValue>[]> {
  const found: Record<string, AttributeValue>[] = []
  let keys: Record<string, AttributeValue>[] = ids.map((id) => ({ [FIELD.id]: { S: id } }))
  for (let delay = 10; keys.length > 0; delay = Math.min(delay * 2, 200)) {
    const reply = await client.send(
      new BatchGetItemCommand({
        RequestItems: { [tableName]: { Keys: keys, ConsistentRead: consistentRead } },
      }),
      { abortSignal: signal },
    )
    found.push(...(reply.Responses?.[tableName] ?? []))
    // Keys DynamoDB did not get to (capacity or the 16 MB response limit): ask again, with backoff.
    keys = reply.UnprocessedKeys?.[tableName]?.Keys ?? []
    if (keys.length > 0) await new Promise((resolve) => setTimeout(resolve, delay))
  }
  return found
}
