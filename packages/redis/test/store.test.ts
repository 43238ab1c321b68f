import { isSessionError, SessionRepository } from '@sessionkit/core'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisStore } from '../src/index'
import { commandsSent, meta, newId } from './support'

let server: RedisServer
let shared: Redis

beforeAll(async () => {
  server = await startRedis()
  shared = new Redis(server.url)
})
afterAll(async () => {
  shared?.disconnect()
  await server?.stop()
})

describe('round trips, counted with MONITOR', () => {
  const commandsOf = (client: Redis, fn: () => Promise<unknown>) => commandsSent(shared, client, fn)

  it('load = 1 HGETALL, save = 1 EVALSHA, touch = 1 EVALSHA, delete = 1 EVALSHA', async () => {
    const client = new Redis(server.url)
    const store = new RedisStore({ client, prefix: 'rt:' })
    const id = newId()
    const m = meta()
    // First use of each script on a connection is an EVAL (ioredis then switches to EVALSHA).
    await store.save({ id, isNew: true, meta: m, set: { a: '1', b: '2' }, removed: [] })
    await store.touch(id, m)
    await store.delete(newId())

    const counts: Record<string, string[]> = {
      load: await commandsOf(client, () => store.load(id)),
      'load (missing id)': await commandsOf(client, () => store.load(newId())),
      save: await commandsOf(client, () =>
        store.save({ id, isNew: false, meta: meta(), set: { a: '3' }, removed: ['b'] }),
      ),
      touch: await commandsOf(client, () => store.touch(id, meta())),
      delete: await commandsOf(client, () => store.delete(id)),
    }
    console.info('commands per operation (no principal):', counts)
    expect(counts).toEqual({
      load: ['hgetall'],
      'load (missing id)': ['hgetall'],
      save: ['evalsha'],
      touch: ['evalsha'],
      delete: ['evalsha'],
    })
    client.disconnect()
  })

  it('with a principal: save and touch add one index script, sent once the outcome is known', async () => {
    const client = new Redis(server.url)
    const store = new RedisStore({ client, prefix: 'rtp:' })
    const id = newId()
    await store.save({ id, isNew: true, meta: meta(600_000, 'alice'), set: { a: '1' }, removed: [] })
    await store.touch(id, meta(600_000, 'alice'))
    const save = await commandsOf(client, () =>
      store.save({ id, isNew: false, meta: meta(600_000, 'alice'), set: { a: '2' }, removed: [] }),
    )
    const touch = await commandsOf(client, () => store.touch(id, meta(600_000, 'alice')))
    const find = await commandsOf(client, () => store.findByPrincipal('alice'))
    console.info('commands with a principal:', { save, touch, findByPrincipal: find })
    expect(save).toEqual(['evalsha', 'evalsha'])
    expect(touch).toEqual(['evalsha', 'evalsha'])
    // one pipeline (prune + range), then one HGETALL per live session
    expect(find).toEqual(['zremrangebyscore', 'zrangebyscore', 'hgetall'])
    client.disconnect()
  })

  it('through the repository: an unchanged request is 1 command (no write), a change is 2', async () => {
    const client = new Redis(server.url)
    const repository = new SessionRepository({ store: new RedisStore({ client, prefix: 'rq:' }) })
    const created = repository.create()
    created.data.cart = { items: ['apple'] }
    created.data.theme = 'dark'
    await repository.save(created)
    await repository.save((await repository.load(created.id))!, { force: true }) // warm the touch script

    const readOnly = await commandsOf(client, async () => {
      const session = (await repository.load(created.id))!
      void session.data.cart
      expect(await repository.save(session)).toBe('unchanged')
    })
    const oneChange = await commandsOf(client, async () => {
      const session = (await repository.load(created.id))!
      ;(session.data.cart as { items: string[] }).items.push('pear')
      expect(await repository.save(session)).toBe('saved')
    })
    client.disconnect()
    expect(readOnly).toEqual(['hgetall'])
    expect(oneChange).toEqual(['hgetall', 'evalsha'])
  })

  it('a principal index nobody reads still sheds expired entries and expires with its last one', async () => {
    const client = new Redis(server.url)
    const store = new RedisStore({ client, prefix: 'leak:' })
    const key = store.principalKey('bob')
    // Many short logins of one user, never revoked and never listed.
    for (let n = 0; n < 20; n++) {
      await store.save({ id: newId(), isNew: true, meta: meta(60, 'bob'), set: {}, removed: [] })
    }
    const lastShort = Date.now() + 60
    while (Date.now() <= lastShort) await client.ping() // the clock passes the last short expiry
    await store.save({ id: newId(), isNew: true, meta: meta(600_000, 'bob'), set: {}, removed: [] })
    expect(await shared.zcard(key)).toBe(1)
    const pttl = await shared.pttl(key)
    expect(pttl).toBeGreaterThan(590_000)
    expect(pttl).toBeLessThanOrEqual(600_000)
    client.disconnect()
  })

  it('never sends CONFIG, KEYS or SCAN', async () => {
    const client = new Redis(server.url)
    const store = new RedisStore({ client, prefix: 'nocfg:', legacy: {} })
    const sent = await commandsOf(client, async () => {
      const id = newId()
      await store.save({ id, isNew: true, meta: meta(600_000, 'bob'), set: { a: '1' }, removed: [] })
      await store.load(id)
      await store.load(newId())
      await store.findByPrincipal('bob')
      await store.save({
        id: newId(),
        previousId: id,
        isNew: false,
        meta: meta(),
        set: { a: '1' },
        removed: [],
      })
    })
    expect(sent.filter((c) => ['config', 'keys', 'scan', 'rename'].includes(c))).toEqual([])
    client.disconnect()
  })
})

describe('connect-redis records', () => {
  /** Exactly what connect-redis' `set` does: JSON.stringify of the session, SET key val EX ttl. */
  async function writeLikeConnectRedis(
    id: string,
    sess: { cookie: { expires?: string | null } },
    ttlS = 86400,
  ) {
    const expires = sess.cookie.expires ? Date.parse(sess.cookie.expires) : undefined
    const ttl = expires ? Math.ceil((expires - Date.now()) / 1000) : ttlS
    await shared.set(`sess:${id}`, JSON.stringify(sess), 'EX', ttl)
  }
  const cookie = (maxAge: number | null) => ({
    originalMaxAge: maxAge,
    expires: maxAge === null ? null : new Date(Date.now() + maxAge).toISOString(),
    secure: false,
    httpOnly: true,
    path: '/',
  })

  it('reads a legacy record, then the first save moves it to the new layout', async () => {
    const store = new RedisStore({ client: shared, legacy: { prefix: 'sess:' } })
    const id = newId()
    const sess = { cookie: cookie(3_600_000), user: { name: 'alice' }, views: 3 }
    await writeLikeConnectRedis(id, sess)

    const loaded = await store.load(id)
    expect(loaded).toBeDefined()
    expect({ ...loaded!.attributes }).toEqual({
      cookie: JSON.stringify(sess.cookie),
      user: '{"name":"alice"}',
      views: '3',
    })
    expect(loaded!.maxInactiveMs).toBe(3_600_000)
    expect(loaded!.expiresAt).toBe(Date.parse(sess.cookie.expires!))

    const m = { ...meta(3_600_000), createdAt: loaded!.createdAt }
    expect(await store.save({ id, isNew: false, meta: m, set: { views: '4' }, removed: ['user'] })).toBe(
      'saved',
    )
    expect(await shared.exists(`sess:${id}`)).toBe(0)
    const hash = await shared.hgetall(store.key(id))
    expect(hash['a:views']).toBe('4')
    expect(hash['a:cookie']).toBe(JSON.stringify(sess.cookie))
    expect(hash['a:user']).toBeUndefined()
    expect(Number(await shared.pttl(store.key(id)))).toBeGreaterThan(3_500_000)
    expect({ ...(await store.load(id))!.attributes }).toEqual({
      cookie: JSON.stringify(sess.cookie),
      views: '4',
    })
  })

  it('a browser-session cookie takes its expiry from the key TTL; a touch also upgrades', async () => {
    const store = new RedisStore({ client: shared, legacy: {} })
    const id = newId()
    await writeLikeConnectRedis(id, { cookie: cookie(null), cart: ['x'] } as never, 600)
    const loaded = await store.load(id)
    expect(loaded!.maxInactiveMs).toBe(86_400_000)
    expect(Math.abs(loaded!.expiresAt - (Date.now() + 600_000))).toBeLessThan(2_000)
    expect(await store.touch(id, meta())).toBe(true)
    expect(await shared.exists(`sess:${id}`)).toBe(0)
    expect(await shared.hget(store.key(id), 'a:cart')).toBe('["x"]')
  })

  it('without the option, and for hostile JSON, a legacy key is absent', async () => {
    const id = newId()
    await writeLikeConnectRedis(id, { cookie: cookie(60_000) })
    expect(await new RedisStore({ client: shared }).load(id)).toBeUndefined()
    await shared.set(`sess:${id}`, '{"__proto__":{"x":1},"cookie":', 'EX', 60)
    const err = await new RedisStore({ client: shared, legacy: {} }).load(id).catch((e: unknown) => e)
    expect(isSessionError(err, 'CORRUPT_RECORD')).toBe(true)
  })

  it('a rotation of a legacy session moves it and drops the legacy key', async () => {
    const store = new RedisStore({ client: shared, legacy: {} })
    const id = newId()
    const next = newId()
    await writeLikeConnectRedis(id, { cookie: cookie(60_000), user: 'carol' } as never)
    // as after a load: a rotation's `set` carries every attribute
    const set = { ...(await store.load(id))!.attributes }
    const result = await store.save({
      id: next,
      previousId: id,
      isNew: false,
      meta: meta(),
      set,
      removed: [],
    })
    expect(result).toBe('saved')
    expect(await shared.exists(`sess:${id}`)).toBe(0)
    expect((await store.load(next))!.attributes.user).toBe('"carol"')
  })

  it('a legacy rotation whose take ran but whose answer was lost: the copy sent again says moved', async () => {
    const client = new Redis(server.url)
    const store = new RedisStore({ client, legacy: {} })
    const id = newId()
    const next = newId()
    await writeLikeConnectRedis(id, { cookie: cookie(60_000), user: 'dave' } as never)
    const set = { ...(await store.load(id))!.attributes }
    const target = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
    const original = target.sessionkitTakeLegacy!
    target.sessionkitTakeLegacy = async function lost(this: unknown, ...args: unknown[]) {
      target.sessionkitTakeLegacy = original
      await original.apply(this, args)
      throw new Error('Connection is closed.')
    }
    const result = await store.save({
      id: next,
      previousId: id,
      isNew: false,
      meta: meta(),
      set,
      removed: [],
    })
    await store.settled()
    expect(result).toBe('saved')
    expect(await shared.exists(`sess:${id}`)).toBe(0)
    expect((await store.load(next))!.attributes.user).toBe('"dave"')
    client.disconnect()
  })
})

describe('bad bytes', () => {
  it('a hash without metadata, or a key of another type, is CORRUPT_RECORD on load', async () => {
    const store = new RedisStore({ client: shared, prefix: 'bad:' })
    const id = newId()
    await shared.hset(store.key(id), 'a:x', '1', 'expiresAt', 'soon')
    await expect(store.load(id)).rejects.toMatchObject({ code: 'CORRUPT_RECORD' })
    const other = newId()
    await shared.set(store.key(other), 'not a hash')
    await expect(store.load(other)).rejects.toMatchObject({ code: 'CORRUPT_RECORD' })
    // a save of a non-new session over it is gone, a create replaces it
    expect(await store.save({ id: other, isNew: false, meta: meta(), set: { a: '1' }, removed: [] })).toBe(
      'gone',
    )
    expect(await store.save({ id: other, isNew: true, meta: meta(), set: { a: '1' }, removed: [] })).toBe(
      'saved',
    )
  })
})
