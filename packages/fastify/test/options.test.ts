import { createHmac } from 'node:crypto'
import fastifyCookie, { Signer } from '@fastify/cookie'
import { MemoryStore } from '@sessionkit/memory'
import Fastify from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import fastifySession from '../src/index'
import { Client, OLD_SECRET, parseSetCookie, type Running, SECRET, start } from './helpers'

let running: Running | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

const counter = (app: Running['app']) => {
  app.get('/', async (request) => {
    request.session.views = (request.session.views ?? 0) + 1
    return { views: request.session.views, id: request.session.sessionId }
  })
  app.get('/peek', async (request) => ({
    views: request.session.views ?? null,
    id: request.session.sessionId,
  }))
}

const mac = (id: string, secret = SECRET, algorithm = 'sha256') =>
  createHmac(algorithm, secret).update(id).digest('base64').replace(/=+$/, '')

describe('secret validation (same errors as @fastify/session)', () => {
  const register = async (options: Record<string, unknown>) => {
    const app = Fastify()
    await app.register(fastifyCookie)
    await app.register(fastifySession, options as never)
    try {
      await app.ready()
    } finally {
      await app.close()
    }
  }

  it('rejects a short string', async () => {
    await expect(register({ secret: 'short' })).rejects.toThrow('the secret must have length 32 or greater')
  })
  it('rejects a missing secret', async () => {
    await expect(register({})).rejects.toThrow(
      'the secret option is required, and must be a String, Array of Strings, or a signer object with .sign and .unsign methods',
    )
  })
  it('rejects an empty array', async () => {
    await expect(register({ secret: [] })).rejects.toThrow('at least one secret is required')
  })
  it('rejects an unknown algorithm', async () => {
    await expect(register({ secret: SECRET, algorithm: 'nope' })).rejects.toThrow(
      'Algorithm nope not supported.',
    )
  })
  it('needs @fastify/cookie registered first', async () => {
    const app = Fastify()
    await expect(app.register(fastifySession, { secret: SECRET }).ready()).rejects.toThrow(/@fastify\/cookie/)
    await app.close()
  })
})

describe('cookie value and defaults', () => {
  it('names the cookie sessionId and signs it as @fastify/cookie does: id.base64(hmac) without padding', async () => {
    running = await start({}, counter)
    const res = await new Client(running.url).get('/')
    expect(res.setCookies).toHaveLength(1)
    const cookie = parseSetCookie(res.setCookies[0]!)
    expect(cookie.name).toBe('sessionId')
    expect(cookie.value).toBe(`${res.body.id}.${mac(res.body.id)}`)
    expect(cookie.value).toBe(new Signer(SECRET).sign(res.body.id))
    // Defaults: Path=/, HttpOnly, no Expires (browser-session cookie), no SameSite.
    expect(cookie.attrs).toEqual({ path: '/', httponly: true })
  })

  it('defaults secure to true: over plain HTTP nothing is saved and no cookie is sent', async () => {
    const store = new MemoryStore()
    running = await start({ store, cookie: { secure: undefined as never } }, counter)
    const client = new Client(running.url)
    const res = await client.get('/')
    expect(res.setCookies).toEqual([])
    expect(await store.load(res.body.id)).toBeUndefined()
  })

  it("secure: 'auto' sends Secure behind an HTTPS proxy and SameSite=Lax without Secure over HTTP", async () => {
    running = await start({ cookie: { secure: 'auto' } }, counter, { trustProxy: true })
    const https = await new Client(running.url).get('/', { 'x-forwarded-proto': 'https' })
    expect(parseSetCookie(https.setCookies[0]!).attrs).toEqual({ path: '/', httponly: true, secure: true })
    const http = await new Client(running.url).get('/')
    expect(parseSetCookie(http.setCookies[0]!).attrs).toEqual({ path: '/', httponly: true, samesite: 'Lax' })
  })

  it('secure: true works over HTTPS (proxy) and sets Secure', async () => {
    running = await start({ cookie: { secure: true } }, counter, { trustProxy: true })
    const client = new Client(running.url)
    const res = await client.get('/', { 'x-forwarded-proto': 'https' })
    expect(parseSetCookie(res.setCookies[0]!).attrs.secure).toBe(true)
    expect((await client.get('/', { 'x-forwarded-proto': 'https' })).body.views).toBe(2)
  })

  it('cookieName, cookiePrefix and algorithm shape the value', async () => {
    running = await start({ cookieName: 'connect.sid', cookiePrefix: 's:', algorithm: 'sha512' }, counter)
    const client = new Client(running.url)
    const res = await client.get('/')
    const cookie = parseSetCookie(res.setCookies[0]!)
    expect(cookie.name).toBe('connect.sid')
    expect(cookie.value).toBe(`s:${res.body.id}.${mac(res.body.id, SECRET, 'sha512')}`)
    expect((await client.get('/')).body.views).toBe(2)
    // Without the prefix the cookie is not recognised: a new session.
    const bare = new Client(running.url)
    bare.jar.set('connect.sid', cookie.value.slice(2))
    expect((await bare.get('/')).body.views).toBe(1)
  })

  it('cookie options: maxAge (ms) gives Expires, plus domain, sameSite, httpOnly false, partitioned', async () => {
    running = await start(
      {
        cookie: {
          maxAge: 60_000,
          domain: 'example.test',
          sameSite: 'strict',
          httpOnly: false,
          partitioned: true,
          secure: false,
        },
      },
      counter,
    )
    const before = Date.now()
    const res = await new Client(running.url).get('/')
    const { attrs } = parseSetCookie(res.setCookies[0]!)
    expect(attrs.domain).toBe('example.test')
    expect(attrs.samesite).toBe('Strict')
    expect(attrs.partitioned).toBe(true)
    expect(attrs.httponly).toBeUndefined()
    // Like the peer: Expires only, no Max-Age.
    expect(attrs['max-age']).toBeUndefined()
    const expires = new Date(attrs.expires as string).getTime()
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 59_000)
    expect(expires).toBeLessThanOrEqual(Date.now() + 60_000)
  })

  it('a cookie maxAge is the server-side idle timeout too', async () => {
    const store = new MemoryStore()
    running = await start({ store, cookie: { maxAge: 5_000 } }, counter)
    const res = await new Client(running.url).get('/')
    const record = await store.load(res.body.id)
    expect(record?.maxInactiveMs).toBe(5_000)
    expect(JSON.parse(record!.attributes.cookie!)).toEqual({ originalMaxAge: 5_000 })
  })

  it('a browser-session cookie keeps the session one day server-side', async () => {
    const store = new MemoryStore()
    running = await start({ store }, counter)
    const res = await new Client(running.url).get('/')
    expect((await store.load(res.body.id))?.maxInactiveMs).toBe(86_400_000)
  })

  it('requests outside cookie.path get a bare object and no cookie', async () => {
    running = await start({ cookie: { path: '/app' } }, (app) => {
      app.get('/app/x', async (request) => ({ id: request.session.sessionId ?? null }))
      app.get('/application', async (request) => ({ id: request.session.sessionId ?? null }))
      app.get('/other', async (request) => ({ session: request.session }))
    })
    const client = new Client(running.url)
    expect((await client.get('/other')).body).toEqual({ session: {} })
    expect((await client.get('/application')).body).toEqual({ id: null })
    const inside = await client.get('/app/x')
    expect(typeof inside.body.id).toBe('string')
    expect(parseSetCookie(inside.setCookies[0]!).attrs.path).toBe('/app')
  })
})

describe('saveUninitialized and rolling', () => {
  it('saveUninitialized (default true) saves and sends a cookie for an empty new session', async () => {
    const store = new MemoryStore()
    running = await start({ store }, (app) =>
      app.get('/', async (request) => ({ id: request.session.sessionId })),
    )
    const res = await new Client(running.url).get('/')
    expect(res.setCookies).toHaveLength(1)
    expect(await store.load(res.body.id)).toBeDefined()
  })

  it('saveUninitialized: false saves nothing until data is set', async () => {
    const store = new MemoryStore()
    running = await start({ store, saveUninitialized: false }, (app) => {
      counter(app)
      app.get('/set', async (request) => {
        request.session.a = 'x'
        return { id: request.session.sessionId }
      })
    })
    const client = new Client(running.url)
    const empty = await client.get('/peek')
    expect(empty.setCookies).toEqual([])
    expect(await store.load(empty.body.id)).toBeUndefined()
    const set = await client.get('/set')
    expect(set.setCookies).toHaveLength(1)
    expect(await store.load(set.body.id)).toBeDefined()
  })

  it('rolling (default true) re-sends the cookie on every response, never rewriting the session', async () => {
    const store = new CountingStore()
    running = await start({ store, cookie: { maxAge: 3_600_000 } }, counter)
    const client = new Client(running.url)
    const first = await client.get('/')
    const saves = store.saves
    // Nothing changed and the touch is throttled (touchAfter): no write, only a read that
    // checks the id is still live before it is sent again (a concurrent changeId() retires it).
    const quiet = await client.get('/peek')
    expect(quiet.setCookies).toHaveLength(1)
    expect(parseSetCookie(quiet.setCookies[0]!).value).toBe(parseSetCookie(first.setCookies[0]!).value)
    expect(store.saves).toBe(saves)
    expect(store.touches).toBe(0)
    expect(store.loads).toBe(2)
    await running.close()

    const eager = new CountingStore()
    running = await start({ store: eager, touchAfter: 0, cookie: { maxAge: 3_600_000 } }, counter)
    const other = new Client(running.url)
    await other.get('/')
    const writes = eager.saves
    const touched = await other.get('/peek')
    expect(touched.setCookies).toHaveLength(1)
    expect(eager.saves).toBe(writes)
    expect(eager.touches).toBe(1)
    // A touch the store confirmed needs no extra read.
    expect(eager.loads).toBe(1)
  })

  it('rolling: false sends the cookie only when the session changed', async () => {
    running = await start({ rolling: false }, counter)
    const client = new Client(running.url)
    expect((await client.get('/')).setCookies).toHaveLength(1)
    expect((await client.get('/peek')).setCookies).toEqual([])
    expect((await client.get('/')).setCookies).toHaveLength(1)
  })

  it('touchAfter: an unchanged session is touched once the interval passed', async () => {
    const store = new CountingStore()
    running = await start({ store, touchAfter: 1, cookie: { maxAge: 60_000 } }, counter)
    const client = new Client(running.url)
    await client.get('/')
    const first = (await store.load((await client.get('/peek')).body.id))!.expiresAt
    await new Promise((r) => setTimeout(r, 5))
    await client.get('/peek')
    expect(store.touches).toBeGreaterThanOrEqual(1)
    const id = (await client.get('/peek')).body.id
    expect((await store.load(id))!.expiresAt).toBeGreaterThan(first)
  })
})

describe('secrets and signers', () => {
  it('an array rotates: old-key cookies still work and are re-issued with the new key', async () => {
    const secrets = [OLD_SECRET]
    running = await start({ secret: secrets }, counter)
    const client = new Client(running.url)
    const first = await client.get('/')
    expect(parseSetCookie(first.setCookies[0]!).value).toBe(
      `${first.body.id}.${mac(first.body.id, OLD_SECRET)}`,
    )
    // The app rotates by mutating the array, as @fastify/session allows.
    secrets.unshift(SECRET)
    const second = await client.get('/')
    expect(second.body).toEqual({ views: 2, id: first.body.id })
    expect(parseSetCookie(second.setCookies[0]!).value).toBe(`${first.body.id}.${mac(first.body.id)}`)
  })

  it('re-issues an old-key cookie even with rolling and saveUninitialized off', async () => {
    running = await start({ secret: [SECRET, OLD_SECRET], rolling: false, saveUninitialized: false }, counter)
    const id = (await new Client(running.url).get('/')).body.id
    const client = new Client(running.url)
    client.jar.set('sessionId', encodeURIComponent(`${id}.${mac(id, OLD_SECRET)}`))
    const res = await client.get('/peek')
    expect(res.body.views).toBe(1)
    expect(parseSetCookie(res.setCookies[0]!).value).toBe(`${id}.${mac(id)}`)
  })

  it('takes a custom signer ({ sign, unsign } → { valid, renew, value }) such as @fastify/cookie Signer', async () => {
    running = await start({ secret: new Signer([SECRET, OLD_SECRET], 'sha384') }, counter)
    const client = new Client(running.url)
    const res = await client.get('/')
    expect(parseSetCookie(res.setCookies[0]!).value).toBe(
      `${res.body.id}.${mac(res.body.id, SECRET, 'sha384')}`,
    )
    expect((await client.get('/')).body.views).toBe(2)
    const renew = new Client(running.url)
    renew.jar.set('sessionId', encodeURIComponent(`${res.body.id}.${mac(res.body.id, OLD_SECRET, 'sha384')}`))
    const renewed = await renew.get('/peek')
    expect(renewed.body.views).toBe(2)
    expect(parseSetCookie(renewed.setCookies[0]!).value).toBe(
      `${res.body.id}.${mac(res.body.id, SECRET, 'sha384')}`,
    )
  })

  it('a badly signed cookie gives a new session; the stale cookie is cleared when nothing is saved', async () => {
    running = await start({ saveUninitialized: false }, counter)
    const client = new Client(running.url)
    client.jar.set('sessionId', 'forged.signature')
    const res = await client.get('/peek')
    expect(res.body.views).toBeNull()
    expect(res.setCookies).toHaveLength(1)
    const cleared = parseSetCookie(res.setCookies[0]!)
    expect(cleared.value).toBe('')
    expect(cleared.attrs['max-age']).toBe('0')
    expect(client.jar.size).toBe(0)
  })

  it('an unknown (e.g. expired) id gives a new session with a new id', async () => {
    running = await start({}, counter)
    const client = new Client(running.url)
    const ghost = 'A'.repeat(43)
    client.jar.set('sessionId', encodeURIComponent(`${ghost}.${mac(ghost)}`))
    const res = await client.get('/')
    expect(res.body.views).toBe(1)
    expect(res.body.id).not.toBe(ghost)
  })
})

describe('idGenerator', () => {
  it('makes the ids of new sessions and receives the request', async () => {
    let n = 0
    running = await start(
      { idGenerator: (request) => `custom-${request?.headers['x-tenant']}-${++n}` },
      counter,
    )
    const client = new Client(running.url)
    expect((await client.get('/', { 'x-tenant': 't1' })).body.id).toBe('custom-t1-1')
    expect((await client.get('/', { 'x-tenant': 't1' })).body).toEqual({ views: 2, id: 'custom-t1-1' })
  })
})

/** A real MemoryStore that counts its calls, to show what rolling costs. */
class CountingStore extends MemoryStore {
  saves = 0
  touches = 0
  loads = 0
  override load(...args: Parameters<MemoryStore['load']>) {
    this.loads++
    return super.load(...args)
  }
  override save(...args: Parameters<MemoryStore['save']>) {
    this.saves++
    return super.save(...args)
  }
  override touch(...args: Parameters<MemoryStore['touch']>) {
    this.touches++
    return super.touch(...args)
  }
}
