import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { describeStoreConformance } from '@sessionkit/conformance/vitest'
import { freePort, startDynamoDB } from '@sessionkit/test-servers'
import { afterAll } from 'vitest'
import type { DynamoDBStore } from '../src/index'
import { readRaw, severableClient, storeOn, TABLE } from './support'

// Top-level await: the suite creates a probe store while it is being collected.
const server = await startDynamoDB()
const admin = new DynamoDBClient(server.clientConfig)
await storeOn(admin).ensureTable()
const deadPort = await freePort()
afterAll(async () => {
  admin.destroy()
  await server.stop()
})

/** Each case's store has its own client, so one case can cut its store off. */
const owned = new WeakMap<DynamoDBStore, ReturnType<typeof severableClient>>()

describeStoreConformance({
  name: 'DynamoDBStore (DynamoDB Local)',
  createStore: () => {
    const severable = severableClient(server, deadPort)
    const store = storeOn(severable.client, { operationTimeoutMs: 2000 })
    owned.set(store, severable)
    return store
  },
  disposeStore: (store) => owned.get(store)?.client.destroy(),
  makeUnavailable: async (store) => owned.get(store)!.sever(),
  readRaw: (_store, id) => readRaw(admin, id),
  // What a foreign writer leaves: expiry that is no number, a truncated attribute, a map of numbers.
  corrupt: async (_store, id) => {
    await admin.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: {
          id: { S: id },
          expiresAt: { S: 'soon' },
          attrs: { M: { acart: { S: '{"items":[' }, an: { N: '1' } } },
        },
      }),
    )
  },
})
