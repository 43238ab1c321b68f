import { MemoryStore } from '@sessionkit/memory'
import { afterEach, describe, expect, it } from 'vitest'
import { SessionCookie } from '../src/index'
import { Client, parseSetCookie, type Running, start } from './helpers'

let running: Running | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

describe('request.session data', () => {
  it('property access and get/set share one namespace and persist', async () => {
    running = await start({}, (app) => {
      app.get('/set', async (request) => {
        request.session.set('a', 'one')
        request.session.b = 'two'
        return { a: request.session.a, b: request.session.get('b') }
      })
      app.get('/get', async (request) => ({ a: request.session.get('a'), b: request.session.b }))
    })
    const client = new Client(running.url)
    expect((await client.get('/set')).body).toEqual({ a: 'one', b: 'two' })
    expect((await client.get('/get')).body).toEqual({ a: 'one', b: 'two' })
  })

  it('nested mutation persists; delete removes an attribute', async () => {
    running = await start({}, (app) => {
      app.get('/init', async (request) => {
        request.session.cart = { items: [] }
        request.session.a = 'x'
        return 'ok'
      })
      app.get('/push', async (request) => {
        request.session.cart!.items.push('apple')
        delete request.session.a
        return 'ok'
      })
      app.get('/read', async (request) => ({ cart: request.session.cart, a: request.session.a ?? null }))
    })
    const client = new Client(running.url)
    await client.get('/init')
    await client.get('/push')
    expect((await client.get('/read')).body).toEqual({ cart: { items: ['apple'] }, a: null })
  })

  it('sessionId, encryptedSessionId, cookie, request.sessionStore', async () => {
    const store = new MemoryStore()
    running = await start({ store, cookie: { maxAge: 60_000 } }, (app) => {
      app.get('/', async (request) => ({
        id: request.session.sessionId,
        encrypted: request.session.encryptedSessionId,
        isCookie: request.session.cookie instanceof SessionCookie,
        cookie: request.session.cookie,
        maxAge: request.session.cookie.maxAge,
        // A sessionkit store without the peer's get/set/destroy is shown through a view that
        // adds them (README "Types"); what it holds and does is the store's own.
        sameStore:
          request.sessionStore instanceof MemoryStore &&
          (request.sessionStore as unknown as MemoryStore).size === store.size,
      }))
    })
    const res = await new Client(running.url).get('/')
    expect(res.body.encrypted).toBe(parseSetCookie(res.setCookies[0]!).value)
    expect(res.body.encrypted.startsWith(`${res.body.id}.`)).toBe(true)
    expect(res.body.isCookie).toBe(true)
    expect(res.body.sameStore).toBe(true)
    expect(res.body.maxAge).toBeGreaterThan(59_000)
    expect(res.body.cookie).toMatchObject({
      originalMaxAge: 60_000,
      path: '/',
      httpOnly: true,
      secure: false,
      sameSite: null,
      domain: null,
    })
  })

  it('isModified() reflects data changes (not cookie changes); isSaved() after save', async () => {
    running = await start({}, (app) => {
      app.get('/new', async (request) => {
        const before = request.session.isModified()
        request.session.a = 'x'
        const after = request.session.isModified()
        const savedBefore = request.session.isSaved()
        await request.session.save()
        return {
          before,
          after,
          savedBefore,
          saved: request.session.isSaved(),
          afterSave: request.session.isModified(),
        }
      })
      app.get('/loaded', async (request) => {
        const before = request.session.isModified()
        request.session.cookie.maxAge = 1000
        const cookieOnly = request.session.isModified()
        request.session.a = 'y'
        return { before, cookieOnly, after: request.session.isModified() }
      })
    })
    const client = new Client(running.url)
    expect((await client.get('/new')).body).toEqual({
      before: false,
      after: true,
      savedBefore: false,
      saved: true,
      afterSave: false,
    })
    expect((await client.get('/loaded')).body).toEqual({ before: false, cookieOnly: false, after: true })
  })
})

describe('request.session methods', () => {
  it('save() with a callback and as a promise writes to the store now', async () => {
    const store = new MemoryStore()
    running = await start({ store }, (app) => {
      app.get('/cb', (request, reply) => {
        request.session.a = 'cb'
        request.session.save(async (err) => {
          const record = await store.load(request.session.sessionId)
          reply.send({ err: err ?? null, a: record?.attributes.a ?? null })
        })
      })
      app.get('/promise', async (request) => {
        request.session.b = 'p'
        await request.session.save()
        return { b: (await store.load(request.session.sessionId))?.attributes.b ?? null }
      })
    })
    const client = new Client(running.url)
    expect((await client.get('/cb')).body).toEqual({ err: null, a: '"cb"' })
    expect((await client.get('/promise')).body).toEqual({ b: '"p"' })
  })

  it('save() sends the cookie even when the connection is insecure and secure is true', async () => {
    running = await start({ cookie: { secure: true } }, (app) => {
      app.get('/', async (request) => {
        request.session.a = 'x'
        await request.session.save()
        return 'ok'
      })
    })
    const res = await new Client(running.url).get('/')
    expect(parseSetCookie(res.setCookies[0]!).attrs.secure).toBe(true)
  })

  it('destroy() deletes the session now and request.session becomes null (promise and callback)', async () => {
    const store = new MemoryStore()
    running = await start({ store }, (app) => {
      app.get('/init', async (request) => {
        request.session.login = 'alice'
        return { id: request.session.sessionId }
      })
      app.get('/logout', async (request) => {
        await request.session.destroy()
        return { session: request.session }
      })
      app.get('/logout-cb', (request, reply) => {
        request.session.destroy((err) => reply.send({ err: err ?? null, session: request.session }))
      })
      app.get('/who', async (request) => ({ user: request.session.login ?? null }))
    })
    for (const path of ['/logout', '/logout-cb']) {
      const client = new Client(running.url)
      const { id } = (await client.get('/init')).body
      const res = await client.get(path)
      expect(res.body.session).toBeNull()
      // As the peer: the response does not touch the cookie; the id is simply dead.
      expect(res.setCookies).toEqual([])
      expect(await store.load(id)).toBeUndefined()
      expect((await client.get('/who')).body).toEqual({ user: null })
    }
  })

  it('regenerate(): new id, empty data, old id deleted from the store', async () => {
    const store = new MemoryStore()
    running = await start({ store }, (app) => {
      app.get('/init', async (request) => {
        request.session.a = 'keep'
        request.session.b = 'drop'
        return { id: request.session.sessionId }
      })
      app.get('/regen', async (request) => {
        const old = request.session.sessionId
        await request.session.regenerate()
        return { old, id: request.session.sessionId, a: request.session.a ?? null }
      })
      app.get('/regen-keep', (request, reply) => {
        const old = request.session.sessionId
        request.session.regenerate(['a'], (err) =>
          reply.send({
            err: err ?? null,
            old,
            id: request.session.sessionId,
            a: request.session.a,
            b: request.session.b ?? null,
          }),
        )
      })
      app.get('/read', async (request) => ({ a: request.session.a ?? null, b: request.session.b ?? null }))
    })
    const client = new Client(running.url)
    const first = (await client.get('/init')).body.id
    const regen = await client.get('/regen')
    expect(regen.body.old).toBe(first)
    expect(regen.body.id).not.toBe(first)
    expect(regen.body.a).toBeNull()
    expect(await store.load(first)).toBeUndefined()
    expect(parseSetCookie(regen.setCookies[0]!).value.startsWith(`${regen.body.id}.`)).toBe(true)

    await client.get('/init')
    const kept = await client.get('/regen-keep')
    expect(kept.body).toMatchObject({ err: null, a: 'keep', b: null })
    expect(await store.load(kept.body.old)).toBeUndefined()
    expect((await client.get('/read')).body).toEqual({ a: 'keep', b: null })
  })

  it('reload() replaces request.session with the stored state', async () => {
    running = await start({}, (app) => {
      app.get('/init', async (request) => {
        request.session.a = 'stored'
        return 'ok'
      })
      app.get('/reload', async (request) => {
        request.session.a = 'unsaved'
        const before = request.session
        await request.session.reload()
        return { a: request.session.a, replaced: before !== request.session }
      })
      app.get('/reload-cb', (request, reply) => {
        request.session.a = 'unsaved'
        request.session.reload((err) => reply.send({ err: err ?? null, a: request.session.a }))
      })
    })
    const client = new Client(running.url)
    await client.get('/init')
    expect((await client.get('/reload')).body).toEqual({ a: 'stored', replaced: true })
    expect((await client.get('/reload-cb')).body).toEqual({ err: null, a: 'stored' })
  })

  it('touch() moves cookie.expires to now + maxAge', async () => {
    running = await start({ cookie: { maxAge: 60_000 } }, (app) => {
      app.get('/', async (request) => {
        request.session.cookie.expires = new Date(Date.now() + 1000)
        const before = request.session.cookie.maxAge!
        request.session.touch()
        return { before, after: request.session.cookie.maxAge }
      })
    })
    const { body } = await new Client(running.url).get('/')
    expect(body.before).toBeLessThanOrEqual(1000)
    expect(body.after).toBeGreaterThan(59_000)
  })

  it('options() changes this session’s cookie; a maxAge ("remember me") is kept with the session', async () => {
    const store = new MemoryStore()
    running = await start({ store, touchAfter: 0 }, (app) => {
      app.get('/remember', async (request) => {
        request.session.login = 'alice'
        request.session.options({ maxAge: 7 * 86_400_000, sameSite: 'strict' })
        return { id: request.session.sessionId }
      })
      app.get('/peek', async (request) => ({ maxAge: request.session.cookie.originalMaxAge }))
    })
    const client = new Client(running.url)
    const res = await client.get('/remember')
    const cookie = parseSetCookie(res.setCookies[0]!)
    expect(cookie.attrs.samesite).toBe('Strict')
    expect(new Date(cookie.attrs.expires as string).getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000)
    const record = await store.load(res.body.id)
    expect(record?.maxInactiveMs).toBe(7 * 86_400_000)
    const next = await client.get('/peek')
    expect(next.body.maxAge).toBe(7 * 86_400_000)
    expect(parseSetCookie(next.setCookies[0]!).attrs.samesite).toBe('Strict')
  })

  it('fastify.decryptSession(encryptedId, request, [cookieOpts], cb) loads a session by hand', async () => {
    running = await start({}, (app) => {
      app.get('/init', async (request) => {
        request.session.login = 'alice'
        return { encrypted: request.session.encryptedSessionId }
      })
    })
    const client = new Client(running.url)
    const { encrypted } = (await client.get('/init')).body
    const target: Record<string, any> = {}
    await new Promise<void>((resolve, reject) =>
      running!.app.decryptSession(encrypted, target, (err) => (err ? reject(err) : resolve())),
    )
    expect(target.session.login).toBe('alice')
    const bad: Record<string, any> = {}
    await new Promise<void>((resolve) =>
      running!.app.decryptSession('x.y', bad, { maxAge: 1000 }, () => resolve()),
    )
    expect(bad.session.login).toBeUndefined()
    expect(bad.session.cookie.originalMaxAge).toBe(1000)
  })
})
