import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { SessionRecord } from '@sessionkit/core'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisStore } from '../src/index'
import { meta, newId } from './support'

/**
 * `legacy: { keep: true }` against the real connect-redis (the version @sessionkit/express tests
 * against, on node-redis): what it wrote, keep mode reads and writes back in its format, and
 * what keep mode writes, connect-redis returns as express-session's session object.
 */

type ConnectRedisStore = {
  get(sid: string): Promise<Record<string, any> | null>
  set(sid: string, sess: object): Promise<void>
  touch(sid: string, sess: object): Promise<void>
  destroy(sid: string): Promise<void>
}

const fromExpress = createRequire(join(import.meta.dirname, '../../express/package.json'))
const { RedisStore: ConnectRedis } = fromExpress('connect-redis') as {
  RedisStore: new (options: { client: unknown }) => ConnectRedisStore
}
const { createClient } = fromExpress('redis') as {
  createClient(options: { url: string }): { connect(): Promise<unknown>; quit(): Promise<unknown> }
}

let server: RedisServer
let shared: Redis
let nodeRedis: ReturnType<typeof createClient>
let connectRedis: ConnectRedisStore
let store: RedisStore

beforeAll(async () => {
  server = await startRedis()
  shared = new Redis(server.url)
  nodeRedis = createClient({ url: server.url })
  await nodeRedis.connect()
  connectRedis = new ConnectRedis({ client: nodeRedis })
  store = new RedisStore({ client: shared, legacy: { prefix: 'sess:', keep: true } })
})
afterAll(async () => {
  await nodeRedis?.quit()
  shared?.disconnect()
  await server?.stop()
})

/** An express-session session as it reaches its store's `set` (its Cookie's JSON). */
function expressSession(data: Record<string, unknown>, maxAge: number | null = 3_600_000) {
  return {
    cookie: {
      originalMaxAge: maxAge,
      expires: maxAge === null ? null : new Date(Date.now() + maxAge).toISOString(),
      secure: false,
      httpOnly: true,
      path: '/',
    },
    ...data,
  }
}

/** What a load hands the binding as the next save's metadata. */
function updateOf(loaded: SessionRecord, lifetime = 3_600_000) {
  const now = Date.now()
  return { createdAt: loaded.createdAt, lastAccessedAt: now, expiresAt: now + lifetime }
}

describe('legacy.keep: sessions stay in connect-redis format', () => {
  it('a save of a record connect-redis wrote writes it back in its format; connect-redis reads the change', async () => {
    const id = newId()
    await connectRedis.set(id, expressSession({ user: 'alice', views: 1 }))
    const loaded = (await store.load(id))!
    expect(loaded.attributes.user).toBe('"alice"')

    const result = await store.save({
      id,
      isNew: false,
      meta: updateOf(loaded),
      set: { views: '2', cart: '["x"]' },
      removed: ['user'],
    })
    expect(result).toBe('saved')
    // No record in sessionkit's layout: a peer server would not read it.
    expect(await shared.exists(store.key(id))).toBe(0)
    const seen = (await connectRedis.get(id))!
    expect(seen).toMatchObject({ views: 2, cart: ['x'], cookie: { originalMaxAge: 3_600_000, path: '/' } })
    expect(seen.user).toBeUndefined()
    expect(Object.keys(seen)[0]).toBe('cookie')
    // The TTL connect-redis sets: cookie.expires, rounded up to seconds.
    const expires = Date.parse(seen.cookie.expires)
    expect(expires).toBeGreaterThan(Date.now() + 3_500_000)
    const ttl = await shared.ttl(`sess:${id}`)
    expect(Math.abs(ttl - Math.ceil((expires - Date.now()) / 1000))).toBeLessThanOrEqual(1)
  })

  it('a new session starts in connect-redis format, with express-session’s cookie', async () => {
    const id = newId()
    const m = meta(1_800_000)
    const cookie = JSON.stringify({ originalMaxAge: 1_800_000 })
    expect(
      await store.save({
        id,
        isNew: true,
        meta: { ...m, principal: null },
        set: { cookie, user: '"bob"' },
        removed: [],
      }),
    ).toBe('saved')
    const seen = (await connectRedis.get(id))!
    expect(seen).toEqual({
      cookie: {
        originalMaxAge: 1_800_000,
        expires: new Date(m.expiresAt).toISOString(),
        httpOnly: true,
        path: '/',
      },
      user: 'bob',
    })
    expect(await store.save({ id, isNew: true, meta: { ...m, principal: null }, set: {}, removed: [] })).toBe(
      'collision',
    )
  })

  it('a touch moves cookie.expires and the TTL, as the peer’s next read needs', async () => {
    const id = newId()
    await connectRedis.set(id, expressSession({ user: 'carol' }, 60_000))
    const later = Date.now() + 3_600_000
    expect(await store.touch(id, { lastAccessedAt: Date.now(), expiresAt: later })).toBe(true)
    const seen = (await connectRedis.get(id))!
    expect(Date.parse(seen.cookie.expires)).toBe(later)
    expect(seen.user).toBe('carol')
    expect(await shared.ttl(`sess:${id}`)).toBeGreaterThan(3_500)
  })

  it('after connect-redis’ touch (EXPIRE only) left cookie.expires in the past, the session still loads', async () => {
    const id = newId()
    // As express-session with `rolling`: the record's cookie says it expired, the key lives on.
    const sess = expressSession({ user: 'dave' }, 1_000)
    sess.cookie.expires = new Date(Date.now() - 5_000).toISOString()
    await shared.set(`sess:${id}`, JSON.stringify(sess), 'EX', 600)
    const loaded = await store.load(id)
    expect(loaded?.attributes.user).toBe('"dave"')
    expect(loaded!.expiresAt).toBeGreaterThan(Date.now() + 590_000)
  })

  it('a logout on a peer (connect-redis destroy) stays a logout: the next save answers gone', async () => {
    const id = newId()
    await connectRedis.set(id, expressSession({ user: 'erin' }))
    const loaded = (await store.load(id))!
    await connectRedis.destroy(id)
    expect(await store.save({ id, isNew: false, meta: updateOf(loaded), set: { n: '1' }, removed: [] })).toBe(
      'gone',
    )
    expect(await shared.exists(`sess:${id}`, store.key(id))).toBe(0)
    expect(await store.touch(id, { lastAccessedAt: Date.now(), expiresAt: Date.now() + 1000 })).toBe(false)
  })

  it('concurrent saves of different attributes on two servers both persist (compare-and-set)', async () => {
    const other = new RedisStore({ client: new Redis(server.url), legacy: { keep: true } })
    for (let trial = 0; trial < 30; trial++) {
      const id = newId()
      await connectRedis.set(id, expressSession({ user: 'frank' }))
      const loaded = (await store.load(id))!
      await Promise.all([
        store.save({ id, isNew: false, meta: updateOf(loaded), set: { a: `"${trial}"` }, removed: [] }),
        other.save({ id, isNew: false, meta: updateOf(loaded), set: { b: `"${trial}"` }, removed: [] }),
      ])
      expect(await connectRedis.get(id)).toMatchObject({ user: 'frank', a: `${trial}`, b: `${trial}` })
    }
  })

  it('a session in sessionkit’s layout (a server without keep wrote it) stays there', async () => {
    const plain = new RedisStore({ client: shared, legacy: {} })
    const id = newId()
    const m = meta()
    await plain.save({ id, isNew: true, meta: { ...m, principal: null }, set: { x: '1' }, removed: [] })
    expect(await store.save({ id, isNew: false, meta: m, set: { y: '2' }, removed: [] })).toBe('saved')
    expect(await shared.hget(store.key(id), 'a:y')).toBe('2')
    expect(await shared.exists(`sess:${id}`)).toBe(0)
  })

  it('a rotation writes the new id in connect-redis format and removes the old one', async () => {
    const id = newId()
    const next = newId()
    await connectRedis.set(id, expressSession({ user: 'gina' }))
    const loaded = (await store.load(id))!
    const m = meta()
    const result = await store.save({
      id: next,
      previousId: id,
      isNew: false,
      meta: { ...m, principal: 'gina' },
      set: { ...loaded.attributes },
      removed: [],
    })
    expect(result).toBe('saved')
    expect(await connectRedis.get(id)).toBeNull()
    expect(await connectRedis.get(next)).toMatchObject({
      user: 'gina',
      cookie: { originalMaxAge: 3_600_000 },
    })
    // The principal rides along where the format has no place for it, and is indexed.
    expect((await store.load(next))?.principal).toBe('gina')
    expect((await store.findByPrincipal('gina')).map((r) => r.id)).toEqual([])
    expect(await shared.zscore(store.principalKey('gina'), next)).not.toBeNull()
  })
})

describe('legacy without keep: moving a session never hides it from a concurrent read', () => {
  it('a move not yet committed (its drop pending or failing) is invisible: the legacy record is read', async () => {
    const mover = new RedisStore({ client: shared, legacy: {} })
    const id = newId()
    await connectRedis.set(id, expressSession({ user: 'ivy', counter: 1 }))
    // What a move leaves before its drop: the new record, made from the legacy one it read ...
    const loaded = (await mover.load(id))!
    const m = { ...updateOf(loaded), maxInactiveMs: 3_600_000, principal: null }
    const plain = new RedisStore({ client: shared })
    await plain.save({ id, isNew: true, meta: m, set: { ...loaded.attributes }, removed: [] })
    // ... while a phase-1 (or peer) server writes the legacy record: the drop will fail.
    await connectRedis.set(id, expressSession({ user: 'ivy', counter: 2 }))
    for (const reader of [store, mover]) expect((await reader.load(id))?.attributes.counter).toBe('2')
  })

  it('a load racing the move of its session always finds it (200 trials)', async () => {
    const mover = new RedisStore({ client: new Redis(server.url), legacy: {} })
    const reader = new RedisStore({ client: new Redis(server.url), legacy: {} })
    let missed = 0
    for (let trial = 0; trial < 200; trial++) {
      const id = newId()
      await connectRedis.set(id, expressSession({ user: 'hal' }))
      const loaded = (await reader.load(id))!
      let moving = true
      const reads = (async () => {
        while (moving) if ((await reader.load(id)) === undefined) missed++
      })()
      await mover.save({ id, isNew: false, meta: updateOf(loaded), set: { n: `${trial}` }, removed: [] })
      moving = false
      await reads
      expect(await shared.exists(`sess:${id}`)).toBe(0)
    }
    expect(missed).toBe(0)
  })
})
