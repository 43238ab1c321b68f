import { MemoryStore } from '@sessionkit/memory'
import { afterEach, describe, expect, it } from 'vitest'
import { Client, parseSetCookie, type Running, start } from './helpers'

let running: Running | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

const routes = (app: Running['app']) => {
  app.get('/login/:user', async (request) => {
    const { user } = request.params as { user: string }
    request.session.login = user
    request.session.setPrincipal(user)
    return { id: request.session.sessionId }
  })
  app.get('/who', async (request) => ({ user: request.session.login ?? null, id: request.session.sessionId }))
  app.get('/change-id', async (request) => {
    const old = request.session.sessionId
    await request.session.changeId()
    return { old, id: request.session.sessionId, user: request.session.login }
  })
  app.get('/revoke-others', async (request) => ({
    count: await request.session.revokeAll({ exceptCurrent: true }),
  }))
  app.get('/revoke-all', (request, reply) => {
    request.session.revokeAll({}, (err, count) =>
      reply.send({ err: err ?? null, count, session: request.session }),
    )
  })
}

describe('beyond @fastify/session', () => {
  it('changeId(): new id, same data; the old id stops working and the cookie follows', async () => {
    const store = new MemoryStore()
    running = await start({ store }, routes)
    const client = new Client(running.url)
    const { id } = (await client.get('/login/alice')).body
    const changed = await client.get('/change-id')
    expect(changed.body.old).toBe(id)
    expect(changed.body.id).not.toBe(id)
    expect(changed.body.user).toBe('alice')
    expect(parseSetCookie(changed.setCookies[0]!).value.startsWith(`${changed.body.id}.`)).toBe(true)
    expect(await store.load(id)).toBeUndefined()
    expect((await client.get('/who')).body).toEqual({ user: 'alice', id: changed.body.id })
  })

  it('setPrincipal + revokeAll({ exceptCurrent: true }) logs the other devices out', async () => {
    running = await start({}, routes)
    const phone = new Client(running.url)
    const laptop = new Client(running.url)
    const bob = new Client(running.url)
    await phone.get('/login/alice')
    await laptop.get('/login/alice')
    await bob.get('/login/bob')
    expect((await laptop.get('/revoke-others')).body).toEqual({ count: 1 })
    expect((await phone.get('/who')).body.user).toBeNull()
    expect((await laptop.get('/who')).body.user).toBe('alice')
    expect((await bob.get('/who')).body.user).toBe('bob')
  })

  it('revokeAll() without exceptCurrent ends this session too (request.session becomes null)', async () => {
    running = await start({}, routes)
    const phone = new Client(running.url)
    const laptop = new Client(running.url)
    await phone.get('/login/alice')
    await laptop.get('/login/alice')
    expect((await laptop.get('/revoke-all')).body).toEqual({ err: null, count: 2, session: null })
    expect((await phone.get('/who')).body.user).toBeNull()
    expect((await laptop.get('/who')).body.user).toBeNull()
  })

  it('fastify.sessionRepository.destroyAllFor(principal) for admin code', async () => {
    running = await start({}, routes)
    const phone = new Client(running.url)
    await phone.get('/login/alice')
    expect(await running.app.sessionRepository.destroyAllFor('alice')).toBe(1)
    expect((await phone.get('/who')).body.user).toBeNull()
  })

  it('absoluteTimeout ends a session whatever its activity', async () => {
    running = await start({ absoluteTimeout: 150, touchAfter: 1 }, routes)
    const client = new Client(running.url)
    const { id } = (await client.get('/login/alice')).body
    expect((await client.get('/who')).body).toEqual({ user: 'alice', id })
    await new Promise((r) => setTimeout(r, 200))
    expect((await client.get('/who')).body.user).toBeNull()
  })

  it('a short cookie maxAge expires the session server-side', async () => {
    running = await start({ cookie: { maxAge: 100 }, rolling: false }, routes)
    const client = new Client(running.url)
    const { id } = (await client.get('/login/alice')).body
    const cookie = client.jar.get('sessionId')!
    await new Promise((r) => setTimeout(r, 150))
    // A client that ignores Expires still presents the cookie: the store has let it go.
    client.jar.set('sessionId', cookie)
    const res = await client.get('/who')
    expect(res.body.user).toBeNull()
    expect(res.body.id).not.toBe(id)
  })
})
