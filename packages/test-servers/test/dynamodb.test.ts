import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { dynamoDBCall, startDynamoDB } from '../src/index'

const table = (TableName: string) => ({
  TableName,
  AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  BillingMode: 'PAY_PER_REQUEST',
})

const item = { TableName: 'sessions', Item: { id: { S: 'k' } } }
const get = { TableName: 'sessions', Key: { id: { S: 'k' } } }

it.each([
  ['in memory: a restart comes back with only the asked-for tables, empty', false, ['sessions'], {}],
  [
    'persistent: a restart keeps every table and item',
    true,
    ['extra', 'sessions'],
    { Item: { id: { S: 'k' } } },
  ],
])('startDynamoDB %s', async (_label, persistent, tablesAfterRestart, itemAfterRestart) => {
  const started = performance.now()
  const server = await startDynamoDB({ persistent, tables: [table('sessions')] })
  console.info(
    `DynamoDB Local (persistent: ${persistent}) answered after ${(performance.now() - started).toFixed(0)} ms`,
  )
  try {
    expect(await dynamoDBCall(server.endpoint, 'CreateTable', table('extra'))).toHaveProperty(
      'TableDescription',
    )
    expect(await dynamoDBCall(server.endpoint, 'ListTables', {})).toEqual({
      TableNames: ['extra', 'sessions'],
    })
    await dynamoDBCall(server.endpoint, 'PutItem', item)
    await server.kill()
    expect(server.running).toBe(false)
    await expect(dynamoDBCall(server.endpoint, 'ListTables', {})).rejects.toThrow()
    const restarting = performance.now()
    await server.restart()
    console.info(`restart answered after ${(performance.now() - restarting).toFixed(0)} ms`)
    expect(server.running).toBe(true)
    expect(await dynamoDBCall(server.endpoint, 'ListTables', {})).toEqual({ TableNames: tablesAfterRestart })
    expect(await dynamoDBCall(server.endpoint, 'GetItem', get)).toEqual(itemAfterRestart)
  } finally {
    await server.stop()
  }
  expect(server.running).toBe(false)
})

it('a failed call names the service error', async () => {
  const server = await startDynamoDB()
  try {
    await expect(dynamoDBCall(server.endpoint, 'DescribeTable', { TableName: 'missing' })).rejects.toThrow(
      /ResourceNotFoundException/,
    )
  } finally {
    await server.stop()
  }
})

it('a missing java fails with the install command, never a skip', () => {
  // A fresh process with no java on its PATH (the check caches its answer per process).
  const probe = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "import('./src/dynamodb.ts').then((m) => { try { m.assertJavaInstalled(); console.log('found') } catch (e) { console.log(e.message) } })",
    ],
    { cwd: fileURLToPath(new URL('..', import.meta.url)), env: { PATH: '/nonexistent' }, encoding: 'utf8' },
  )
  expect(probe.stdout).toContain('install it with: apt-get install -y openjdk-17-jre-headless')
})
