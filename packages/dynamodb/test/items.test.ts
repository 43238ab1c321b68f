import { randomBytes } from 'node:crypto'
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { isSessionError } from '@sessionkit/core'
import { afterAll, describe, expect, it } from 'vitest'
import {
  countedStore,
  create,
  created,
  delta,
  meta,
  newId,
  readRaw,
  sharedServer,
  storeOn,
  TABLE,
} from './support'

const admin = new DynamoDBClient(sharedServer())
afterAll(() => admin.destroy())

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

  it('a save past the 4 KB expression limit is one GetItem and one versioned PutItem', async () => {
    const { client, store, requests } = countedStore()
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`attribute-${i}`, String(i)]))
    const id = await created(store, many)
    requests.reset()
    const update = Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`attribute-${i * 4}`, `u${i}`]))
    const removed = Array.from({ length: 600 }, (_, i) => `attribute-${i * 4 + 1}`)
    expect(await store.save({ id, isNew: false, meta: meta(), set: update, removed })).toBe('saved')
    expect(requests.counts).toEqual({ GetItemCommand: 1, PutItemCommand: 1 })
    const loaded = (await store.load(id))!.attributes
    expect(Object.keys(loaded)).toHaveLength(5000 - 600)
    expect(loaded['attribute-4']).toBe('u1')
    expect(loaded['attribute-5']).toBeUndefined()
    expect(loaded['attribute-6']).toBe('6')
    client.destroy()
  })

  it('large saves racing small saves and touches lose none of them', async () => {
    const store = storeOn(admin)
    const id = await created(store, { keep: 'k' }, meta(60_000))
    const big = (n: number) =>
      Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`big${n}-${i}`, `${n}`]))
    const later = meta(3_600_000)
    // Saves that did not change the idle timeout: none may shorten the touch's expiry.
    const { maxInactiveMs: _, ...plain } = meta(60_000)
    const save = (set: Record<string, string>) =>
      store.save({ id, isNew: false, meta: delta(plain), set, removed: [] })
    const results = await Promise.all([
      save(big(1)),
      save({ small1: 's' }),
      save(big(2)),
      store.touch(id, { lastAccessedAt: later.lastAccessedAt, expiresAt: later.expiresAt }),
      save({ small2: 's' }),
    ])
    expect(results).toEqual(['saved', 'saved', 'saved', true, 'saved'])
    const loaded = await store.load(id)
    expect(Object.keys(loaded!.attributes)).toHaveLength(3 + 800)
    expect(loaded!.attributes['big2-399']).toBe('2')
    // No rewrite put back an expiry older than the touch's.
    expect(loaded!.expiresAt).toBeGreaterThanOrEqual(later.expiresAt)
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
