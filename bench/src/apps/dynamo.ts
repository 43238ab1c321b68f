import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBStore } from '@sessionkit/dynamodb'
import { counters } from '../counters'
import type { ServerConfig } from '../matrix'
import { need } from './clients'

/**
 * Our DynamoDB store against the cell's DynamoDB Local. Every HTTP request the SDK sends is
 * counted with its body bytes, so the harness can report requests per operation: DynamoDB
 * Local has no server statistics to ask.
 */
export async function dynamoStoreFor(config: ServerConfig): Promise<DynamoDBStore> {
  const client = new DynamoDBClient(need(config.dynamo, 'dynamo'))
  client.middlewareStack.add(
    (next) => async (args) => {
      const body = (args.request as { body?: unknown }).body
      counters.storeRequests++
      if (typeof body === 'string') counters.storeBytesSent += Buffer.byteLength(body)
      else if (ArrayBuffer.isView(body)) counters.storeBytesSent += body.byteLength
      return next(args)
    },
    { step: 'finalizeRequest', name: 'benchCounter' },
  )
  const store = new DynamoDBStore({ client, tableName: 'sessions' })
  await store.ensureTable()
  return store
}
