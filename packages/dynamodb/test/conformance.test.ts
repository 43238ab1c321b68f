import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { describeStoreConformance } from '@sessionkit/conformance/vitest'
import { freePort } from '@sessionkit/test-servers'
import { afterAll } from 'vitest'
import type { DynamoDBStore } from '../src/index'
import { readRaw, severableClient, sharedServer, storeOn, TABLE } from './support'

const admin = new DynamoDBClient(sharedServer())
// Top-level await: the suite creates a probe store while it is being collected.
const deadPort = await freePort()
afterAll(() => admin.destroy())

/** Each case's store has its own client, so one case can cut its store off. */
const owned = new WeakMap<DynamoDBStore, ReturnType<typeof severableClient>>()

describeStoreConformance({
  name: 'DynamoDBStore (DynamoDB Local)',
  createStore: () => {
    const severable = severableClient(deadPort)
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
