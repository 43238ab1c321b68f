import { expect, it } from 'vitest'
import { startDynamoDB } from '../src/index'

/** One raw DynamoDB JSON call, so this package needs no AWS SDK. */
async function call(endpoint: string, target: string, body: object) {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': `DynamoDB_20120810.${target}`,
      Authorization:
        'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify(body),
  })
  return (await response.json()) as Record<string, unknown>
}

const table = {
  TableName: 'sessions',
  AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  BillingMode: 'PAY_PER_REQUEST',
}

it.each([
  ['in memory: a restart comes back empty', false, []],
  ['persistent: a restart keeps the table', true, ['sessions']],
])('startDynamoDB %s', async (_label, persistent, tablesAfterRestart) => {
  const started = performance.now()
  const server = await startDynamoDB({ persistent })
  console.info(
    `DynamoDB Local (persistent: ${persistent}) answered after ${(performance.now() - started).toFixed(0)} ms`,
  )
  try {
    expect(await call(server.endpoint, 'CreateTable', table)).toHaveProperty('TableDescription')
    expect(await call(server.endpoint, 'ListTables', {})).toEqual({ TableNames: ['sessions'] })
    await server.kill()
    expect(server.running).toBe(false)
    await expect(call(server.endpoint, 'ListTables', {})).rejects.toThrow()
    const restarting = performance.now()
    await server.restart()
    console.info(`restart answered after ${(performance.now() - restarting).toFixed(0)} ms`)
    expect(server.running).toBe(true)
    expect(await call(server.endpoint, 'ListTables', {})).toEqual({ TableNames: tablesAfterRestart })
  } finally {
    await server.stop()
  }
  expect(server.running).toBe(false)
})
