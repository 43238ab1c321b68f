import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb'
import { FIELD } from './fields'

/** Name of the global secondary index on `principal` that `findByPrincipal` queries. */
export const PRINCIPAL_INDEX = 'principal-index'

/**
 * The session table: partition key `id`, on-demand billing, and a keys-only GSI on
 * `principal` (sparse: sessions without a principal are not in it). TTL is a separate call
 * (`UpdateTimeToLive` on `ttl`), which {@link ensureTable} makes.
 *
 * @example
 * ```ts
 * await client.send(new CreateTableCommand(createTableInput('sessions')))
 * ```
 */
export function createTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: FIELD.id, AttributeType: 'S' },
      { AttributeName: FIELD.principal, AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: FIELD.id, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: PRINCIPAL_INDEX,
        KeySchema: [{ AttributeName: FIELD.principal, KeyType: 'HASH' }],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ],
  }
}

const nameOf = (err: unknown): string | undefined => (err as { name?: string } | undefined)?.name

/**
 * Creates the table when it does not exist, waits until it and its index are ACTIVE, and
 * enables TTL on `ttl`. Safe to call from several processes at once. Needs
 * `dynamodb:DescribeTable`, `CreateTable`, `DescribeTimeToLive` and `UpdateTimeToLive`,
 * which the running app does not: in production, create the table with CloudFormation or
 * Terraform instead (see the README).
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)))
  } catch (err) {
    // Already there (or being created by another process): wait for it below.
    if (nameOf(err) !== 'ResourceInUseException') throw err
  }
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }))
    const indexes = Table?.GlobalSecondaryIndexes ?? []
    if (Table?.TableStatus === 'ACTIVE' && indexes.every((i) => i.IndexStatus === 'ACTIVE')) break
    if (Date.now() > deadline) throw new Error(`table ${tableName} was not ACTIVE within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
  const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }))
  const status = ttl.TimeToLiveDescription?.TimeToLiveStatus
  if (status === 'ENABLED' || status === 'ENABLING') return
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: FIELD.ttl, Enabled: true },
      }),
    )
  } catch (err) {
    // Another process enabled it between our describe and update.
    if (!(nameOf(err) === 'ValidationException' && /already enabled/i.test(String((err as Error).message))))
      throw err
  }
}
