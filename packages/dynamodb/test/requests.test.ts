import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb'
import { isSessionError } from '@sessionkit/core'
import { afterAll, describe, expect, it } from 'vitest'
import { DynamoDBStore, PRINCIPAL_INDEX } from '../src/index'
import { countedStore, create, created, delta, meta, newId, sharedServer, storeOn, TABLE } from './support'

const admin = new DynamoDBClient(sharedServer())
afterAll(() => admin.destroy())

describe('requests per operation (counted with an SDK middleware)', () => {
  it('load is one GetItem, save one UpdateItem, create one PutItem, rotation one TransactWriteItems', async () => {
    const { client, store, requests } = countedStore()
    const id = newId()
    const pat = `pat-${id.slice(0, 8)}`
    expect(await store.save({ id, isNew: true, meta: meta(60_000, pat), set: { a: '1' }, removed: [] })).toBe(
      'saved',
    )
    expect(requests.counts).toEqual({ PutItemCommand: 1 })

    for (const expected of [1, 2, 3]) {
      expect((await store.load(id))?.attributes).toEqual({ a: '1' })
      expect(requests.counts.GetItemCommand).toBe(expected)
    }
    requests.reset()
    for (let n = 1; n <= 3; n++) {
      expect(
        await store.save({ id, isNew: false, meta: meta(60_000 + n), set: { a: String(n) }, removed: ['b'] }),
      ).toBe('saved')
    }
    expect(requests.counts).toEqual({ UpdateItemCommand: 3 })
    requests.reset()
    expect(await store.touch(id, meta(120_000))).toBe(true)
    expect(requests.counts).toEqual({ UpdateItemCommand: 1 })
    requests.reset()
    const next = newId()
    expect(
      await store.save({
        id: next,
        previousId: id,
        isNew: false,
        meta: meta(60_000, pat),
        set: { a: '3' },
        removed: [],
      }),
    ).toBe('saved')
    expect(requests.counts).toEqual({ TransactWriteItemsCommand: 1 })
    requests.reset()
    expect((await store.findByPrincipal(pat)).map((r) => r.id)).toEqual([next])
    expect(requests.counts).toEqual({ QueryCommand: 1, BatchGetItemCommand: 1 })
    requests.reset()
    await store.delete(next)
    expect(requests.counts).toEqual({ DeleteItemCommand: 1 })
    client.destroy()
  })

  it('a gone save and a stale save cost at most one more request, never a read', async () => {
    const { client, store, requests } = countedStore()
    expect(await store.save({ id: newId(), isNew: false, meta: meta(), set: { a: '1' }, removed: [] })).toBe(
      'gone',
    )
    expect(requests.counts).toEqual({ UpdateItemCommand: 1 })
    const id = await created(store, { a: '1' }, meta(3_600_000))
    requests.reset()
    // A stale writer (shorter expiry, no timeout change): the condition fails, the retry skips expiry.
    expect(
      await store.save({
        id,
        isNew: false,
        meta: delta({ ...meta(60_000), maxInactiveMs: undefined }),
        set: { b: '2' },
        removed: [],
      }),
    ).toBe('saved')
    expect(requests.counts).toEqual({ UpdateItemCommand: 2 })
    client.destroy()
  })
})

describe('table helpers and options', () => {
  it('ensureTable is idempotent and leaves an on-demand table with TTL on `ttl` and the principal GSI', async () => {
    const tableName = `helpers-${newId()
      .slice(0, 8)
      .replace(/[^A-Za-z0-9]/g, 'x')}`
    const store = new DynamoDBStore({ client: admin, tableName })
    expect(store.createTableInput().TableName).toBe(tableName)
    await Promise.all([store.ensureTable(), store.ensureTable()])
    await store.ensureTable()
    const { Table } = await admin.send(new DescribeTableCommand({ TableName: tableName }))
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST')
    expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual([PRINCIPAL_INDEX])
    const ttl = await admin.send(new DescribeTimeToLiveCommand({ TableName: tableName }))
    expect(ttl.TimeToLiveDescription).toMatchObject({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' })
    expect(await create(store, { a: '1' })).toBe('saved')
  })

  it('consistentReads: false still loads and lists (eventually consistent reads)', async () => {
    const { client, store } = countedStore({ consistentReads: false })
    const id = await created(store, { a: '1' }, meta(60_000, 'eventual'))
    expect((await store.load(id))?.attributes).toEqual({ a: '1' })
    expect((await store.findByPrincipal('eventual')).map((r) => r.id)).toContain(id)
    client.destroy()
  })

  it('close() never closes the client it was given; later operations reject with STORE_UNAVAILABLE', async () => {
    const client = new DynamoDBClient(sharedServer())
    const store = storeOn(client)
    const id = await created(store)
    await store.close()
    await expect(store.load(id)).rejects.toSatisfy((err) => isSessionError(err, 'STORE_UNAVAILABLE'))
    expect((await client.send(new ListTablesCommand({}))).TableNames).toContain(TABLE)
    expect((await storeOn(client).load(id))?.attributes).toEqual({ a: '1' })
    client.destroy()
  })

  it('bad options are INVALID_OPTIONS; a missing table is STORE_ERROR with a hint', async () => {
    expect(() => new DynamoDBStore({ client: {} as DynamoDBClient, tableName: TABLE })).toThrow(/client/)
    expect(() => new DynamoDBStore({ client: admin, tableName: 'x' })).toThrow(/tableName/)
    expect(() => new DynamoDBStore({ client: admin, tableName: TABLE, operationTimeoutMs: 0 })).toThrow(
      /operationTimeoutMs/,
    )
    expect(() => new DynamoDBStore({ client: admin, tableName: TABLE, resolveTimeoutMs: -1 })).toThrow(
      /resolveTimeoutMs/,
    )
    const missing = new DynamoDBStore({ client: admin, tableName: 'no-such-table' })
    const err = await missing.load(newId()).catch((e: unknown) => e)
    expect(isSessionError(err, 'STORE_ERROR')).toBe(true)
    expect((err as Error).message).toMatch(/ensureTable/)
  })
})
