import { randomBytes } from 'node:crypto'
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb'
import type { SessionChange } from '@sessionkit/core'
import { isSessionError } from '@sessionkit/core'
import { startDynamoDB } from '@sessionkit/test-servers'
import { afterAll, describe, expect, it } from 'vitest'
import { DynamoDBStore, PRINCIPAL_INDEX } from '../src/index'
import { countRequests, meta, newId, readRaw, storeOn, TABLE } from './support'

const server = await startDynamoDB()
const admin = new DynamoDBClient(server.clientConfig)
await storeOn(admin).ensureTable()
afterAll(async () => {
  admin.destroy()
  await server.stop()
})

/** A store on its own client, with the requests it sends counted per command. */
function countedStore(options: { consistentReads?: boolean } = {}) {
  const client = new DynamoDBClient(server.clientConfig)
  const requests = countRequests(client)
  return { client, store: storeOn(client, options), requests }
}

const create = (store: DynamoDBStore, set: Record<string, string>, m = meta()) =>
  store.save({ id: newId(), isNew: true, meta: m, set, removed: [] })

async function created(store: DynamoDBStore, set: Record<string, string> = { a: '1' }, m = meta()) {
  const id = newId()
  expect(await store.save({ id, isNew: true, meta: m, set, removed: [] })).toBe('saved')
  return id
}

/** A save's metadata in the delta shape: fields this request did not change are absent. */
const delta = (fields: Record<string, unknown>) => fields as unknown as SessionChange['meta']

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

describe('expired items DynamoDB has not reaped yet', () => {
  it('are never loaded, listed, saved, touched or rotated, and their id is free again', async () => {
    const store = storeOn(admin)
    const id = newId()
    const past = Date.now() - 60_000
    // What TTL leaves behind for up to days: an item past expiresAt (and past its ttl).
    await admin.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: {
          id: { S: id },
          createdAt: { N: String(past - 1000) },
          lastAccessedAt: { N: String(past - 1000) },
          maxInactiveMs: { N: '1000' },
          expiresAt: { N: String(past) },
          ttl: { N: String(Math.ceil(past / 1000)) },
          principal: { S: 'reaper-test' },
          attrs: { M: { asecret: { S: 'stale' } } },
        },
      }),
    )
    expect(await readRaw(admin, id)).toBeDefined()
    expect(await store.load(id)).toBeUndefined()
    expect(await store.findByPrincipal('reaper-test')).toEqual([])
    expect(await store.save({ id, isNew: false, meta: meta(), set: { b: '2' }, removed: [] })).toBe('gone')
    expect(await store.touch(id, meta())).toBe(false)
    const next = newId()
    expect(
      await store.save({ id: next, previousId: id, isNew: false, meta: meta(), set: {}, removed: [] }),
    ).toBe('gone')
    expect(await readRaw(admin, next)).toBeUndefined()
    expect((await readRaw(admin, id))?.attrs?.M?.asecret?.S).toBe('stale')
    // The id is free: a create replaces the stale item whole.
    expect(await store.save({ id, isNew: true, meta: meta(), set: { fresh: 'yes' }, removed: [] })).toBe(
      'saved',
    )
    expect((await store.load(id))?.attributes).toEqual({ fresh: 'yes' })
  })
})

describe('rotation is one transaction', () => {
  it('a transaction that fails (the new id is taken) leaves the old session exactly as it was', async () => {
    const store = storeOn(admin)
    const old = await created(store, { cart: '["apple"]', user: '"alice"' }, meta(600_000, 'rot-owner'))
    const before = await readRaw(admin, old)
    const taken = await created(store, { other: 'x' })
    const result = await store.save({
      id: taken,
      previousId: old,
      isNew: false,
      meta: meta(600_000, 'rot-owner'),
      set: { cart: '["apple","pear"]', user: '"alice"' },
      removed: [],
    })
    expect(result).toBe('collision')
    expect(await readRaw(admin, old)).toEqual(before)
    expect((await store.load(old))?.attributes).toEqual({ cart: '["apple"]', user: '"alice"' })
    expect((await store.load(taken))?.attributes).toEqual({ other: 'x' })
    expect((await store.findByPrincipal('rot-owner')).map((r) => r.id)).toEqual([old])
  })

  it('a rotation refused before sending (too large) leaves the old session too', async () => {
    const store = storeOn(admin)
    const old = await created(store, { a: '1' })
    const huge = randomBytes(600_000).toString('base64')
    const next = newId()
    await expect(
      store.save({ id: next, previousId: old, isNew: false, meta: meta(), set: { huge }, removed: [] }),
    ).rejects.toSatisfy((err) => isSessionError(err, 'SESSION_TOO_LARGE'))
    expect((await store.load(old))?.attributes).toEqual({ a: '1' })
    expect(await readRaw(admin, next)).toBeUndefined()
  })
})

describe('attribute names', () => {
  const hostile = [
    '',
    ' ',
    '.',
    'a.b',
    'a..b',
    'attrs.a',
    '#n0',
    '#n1',
    ':v0',
    ':v1',
    '$',
    '$where',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'id',
    'expiresAt',
    'principal',
    'attrs',
    'SET',
    'REMOVE',
    'size',
    'attribute_exists',
    'a[0]',
    '[0]',
    'a = :v0, #n0 = :v1',
    'a) OR (attribute_exists(id)',
    '\'"`',
    '\u0000',
    'ü😀',
    'x'.repeat(1000),
  ]

  it('every name round-trips through create, update, remove and rotation, and injects nothing', async () => {
    const store = storeOn(admin)
    const set = Object.fromEntries(hostile.map((name, i) => [name, `v${i}`]))
    const id = await created(store, set)
    const loaded = await store.load(id)
    expect(new Map(Object.entries(loaded!.attributes))).toEqual(new Map(Object.entries(set)))
    expect(Object.hasOwn(loaded!.attributes, '__proto__')).toBe(true)

    const changed = Object.fromEntries(hostile.map((name, i) => [name, `changed ${i}`]))
    expect(await store.save({ id, isNew: false, meta: meta(), set: changed, removed: [] })).toBe('saved')
    expect(new Map(Object.entries((await store.load(id))!.attributes))).toEqual(
      new Map(Object.entries(changed)),
    )

    // Removing them one save at a time: each removes exactly its own name.
    const left = new Map(Object.entries(changed))
    for (const name of ['__proto__', '', 'toString', 'a.b', '#n0', 'a = :v0, #n0 = :v1', 'id']) {
      expect(await store.save({ id, isNew: false, meta: meta(), set: {}, removed: [name] })).toBe('saved')
      left.delete(name)
      expect(new Map(Object.entries((await store.load(id))!.attributes))).toEqual(left)
    }
    const next = newId()
    const rest = Object.fromEntries(left)
    expect(
      await store.save({ id: next, previousId: id, isNew: false, meta: meta(), set: rest, removed: [] }),
    ).toBe('saved')
    expect(new Map(Object.entries((await store.load(next))!.attributes))).toEqual(left)
    // The item's own fields are untouched by same-named attributes.
    const raw = await readRaw(admin, next)
    expect(raw?.id?.S).toBe(next)
    expect(Number(raw?.expiresAt?.N)).toBeGreaterThan(Date.now())
  })

  it('saves of thousands of attributes go through (split past the 4 KB expression limit)', async () => {
    const store = storeOn(admin)
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`attribute-${i}`, String(i)]))
    const id = await created(store, many)
    const update = Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`attribute-${i * 4}`, `u${i}`]))
    const removed = Array.from({ length: 600 }, (_, i) => `attribute-${i * 4 + 1}`)
    expect(await store.save({ id, isNew: false, meta: meta(), set: update, removed })).toBe('saved')
    const loaded = (await store.load(id))!.attributes
    expect(Object.keys(loaded)).toHaveLength(5000 - 600)
    expect(loaded['attribute-4']).toBe('u1')
    expect(loaded['attribute-5']).toBeUndefined()
    expect(loaded['attribute-6']).toBe('6')
  })
})

describe('DynamoDB’s 400 KB item limit', () => {
  // Random base64: gzip only gets it down to about 75 %, so 600 KB of it stays over the limit.
  const incompressible = (bytes: number) => randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64')
  const sizeIn = (err: unknown) => Number(/(\d+) bytes \(/.exec((err as Error).message)?.[1])

  it('a create over the limit fails with SESSION_TOO_LARGE naming the size, before any request', async () => {
    const { client, store, requests } = countedStore()
    const err = await create(store, { big: incompressible(600_000) }).catch((e: unknown) => e)
    expect(isSessionError(err, 'SESSION_TOO_LARGE')).toBe(true)
    expect((err as Error).message).toMatch(/over DynamoDB's limit of 409600 bytes \(400 KB\) per item/)
    expect(sizeIn(err)).toBeGreaterThan(409_600)
    expect(requests.counts).toEqual({})
    client.destroy()
  })

  it('an update that alone exceeds the limit is refused before sending; one that grows the item past it by DynamoDB', async () => {
    const { client, store, requests } = countedStore()
    const id = await created(store, { a: '1' })
    requests.reset()
    const alone = await store
      .save({ id, isNew: false, meta: meta(), set: { big: incompressible(600_000) }, removed: [] })
      .catch((e: unknown) => e)
    expect(isSessionError(alone, 'SESSION_TOO_LARGE')).toBe(true)
    expect(sizeIn(alone)).toBeGreaterThan(409_600)
    expect(requests.counts).toEqual({})

    expect(
      await store.save({
        id,
        isNew: false,
        meta: meta(),
        set: { half: incompressible(300_000) },
        removed: [],
      }),
    ).toBe('saved')
    const grown = await store
      .save({ id, isNew: false, meta: meta(), set: { more: incompressible(300_000) }, removed: [] })
      .catch((e: unknown) => e)
    expect(isSessionError(grown, 'SESSION_TOO_LARGE')).toBe(true)
    expect((grown as Error).message).toMatch(/400 KB/)
    // Nothing of the refused save landed; the session is intact.
    const loaded = await store.load(id)
    expect(Object.keys(loaded!.attributes).sort()).toEqual(['a', 'half'])
    client.destroy()
  })

  it('large compressible values are stored gzipped and come back byte-exact', async () => {
    const store = storeOn(admin)
    const big = `${'{"item":"apple","qty":1},'.repeat(40_000)}😀`
    const id = await created(store, { big, small: 's' })
    const raw = await readRaw(admin, id)
    expect(raw?.attrs?.M?.abig?.B).toBeInstanceOf(Uint8Array)
    expect(raw?.attrs?.M?.asmall?.S).toBe('s')
    expect((await store.load(id))?.attributes.big === big).toBe(true)
  })
})

describe('metadata delta (DynamoDB has no max(): conditions and a fallback)', () => {
  it('a stale writer never shortens expiry, keeps the principal it did not change, and its attributes land', async () => {
    const store = storeOn(admin)
    const principal = `delta-${newId().slice(0, 8)}`
    const first = meta(600_000)
    const id = await created(store, { cart: '[]' }, first)
    // B logs in and raises the idle timeout to 30 days.
    const fresh = { ...meta(30 * 86_400_000, principal) }
    expect(await store.save({ id, isNew: false, meta: fresh, set: { user: '"alice"' }, removed: [] })).toBe(
      'saved',
    )
    // A loaded before B and only changed the cart: its expiry is the old, shorter one.
    const stale = delta({
      createdAt: first.createdAt,
      lastAccessedAt: first.lastAccessedAt,
      expiresAt: first.expiresAt,
    })
    expect(await store.save({ id, isNew: false, meta: stale, set: { cart: '["apple"]' }, removed: [] })).toBe(
      'saved',
    )
    const loaded = await store.load(id)
    expect(loaded?.attributes).toEqual({ cart: '["apple"]', user: '"alice"' })
    expect(loaded?.expiresAt).toBe(fresh.expiresAt)
    expect(loaded?.lastAccessedAt).toBe(fresh.lastAccessedAt)
    expect(loaded?.maxInactiveMs).toBe(fresh.maxInactiveMs)
    expect(loaded?.principal).toBe(principal)
    expect((await store.findByPrincipal(principal)).map((r) => r.id)).toEqual([id])
    const ttl = Number((await readRaw(admin, id))?.ttl?.N)
    expect(ttl).toBe(Math.ceil(fresh.expiresAt / 1000) + 3600)

    // A stale touch does not shorten it either, and still answers true (the session is live).
    expect(await store.touch(id, { lastAccessedAt: first.lastAccessedAt, expiresAt: first.expiresAt })).toBe(
      true,
    )
    expect((await store.load(id))?.expiresAt).toBe(fresh.expiresAt)
  })

  it('a request that changes the idle timeout may shorten the expiry; principal null removes the owner', async () => {
    const store = storeOn(admin)
    const principal = `delta-${newId().slice(0, 8)}`
    const id = await created(store, {}, meta(3_600_000, principal))
    const shorter = meta(60_000)
    expect(
      await store.save({
        id,
        isNew: false,
        meta: delta({ ...shorter, principal: null }),
        set: {},
        removed: [],
      }),
    ).toBe('saved')
    const loaded = await store.load(id)
    expect(loaded?.expiresAt).toBe(shorter.expiresAt)
    expect(loaded?.maxInactiveMs).toBe(60_000)
    expect(loaded?.principal).toBeUndefined()
    expect(await store.findByPrincipal(principal)).toEqual([])
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
    const client = new DynamoDBClient(server.clientConfig)
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
    const missing = new DynamoDBStore({ client: admin, tableName: 'no-such-table' })
    const err = await missing.load(newId()).catch((e: unknown) => e)
    expect(isSessionError(err, 'STORE_ERROR')).toBe(true)
    expect((err as Error).message).toMatch(/ensureTable/)
  })
})
