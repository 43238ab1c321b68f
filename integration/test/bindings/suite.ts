import { randomUUID } from 'node:crypto'
import { SessionError, type SessionStore } from '@sessionkit/core'
import { afterEach, expect, it } from 'vitest'
import type { AppOptions, BindingAdapter, SuiteApp } from './adapter'
import { Browser, gate } from './client'

/** A name no other test (of any binding, on a shared backend) uses. */
const unique = (prefix: string) => `${prefix}-${randomUUID()}`

/** A store a test switches into an outage. */
function failing(store: SessionStore): SessionStore & { down: boolean } {
  const wrapper = Object.create(store) as SessionStore & { down: boolean }
  wrapper.down = false
  wrapper.load = (id) =>
    wrapper.down ? Promise.reject(new SessionError('STORE_UNAVAILABLE', 'store is down')) : store.load(id)
  return wrapper
}

/**
 * The behaviour every binding shows over every store, asserted the same way through each
 * binding's own API. `store()` gives the shared store of one test (a fresh one, or a new
 * client onto a shared backend).
 */
export function bindingBehaviour(adapter: BindingAdapter, store: () => SessionStore): void {
  const running: SuiteApp[] = []
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()))
  })
  const start = async (options: Partial<AppOptions> = {}) => {
    const app = await adapter.start({ store: store(), ...options })
    running.push(app)
    return app.url
  }

  it('login rotates the id and keeps the data; the old cookie no longer logs in', async () => {
    const url = await start()
    const browser = new Browser()
    await browser.post(`${url}/set?name=a&value=before`)
    const before = (await browser.get(`${url}/me`)).body.id
    const thief = browser.tab()
    await browser.post(`${url}/login?user=ann`)
    const me = (await browser.get(`${url}/me`)).body
    expect(me).toMatchObject({ user: 'ann', a: 'before' })
    expect(me.id).not.toBe(before)
    expect(me.id).toMatch(/^[\w-]{32}$/)
    expect((await thief.get(`${url}/me`)).body.user).toBeNull()
  })

  it('concurrent requests writing different attributes both persist', async () => {
    const url = await start()
    const browser = new Browser()
    await browser.post(`${url}/login?user=ann`)
    const slow = gate()
    const url2 = await start({ pause: slow.pause })
    const pending = browser.tab().post(`${url2}/set?name=a&value=1&slow=1`)
    await slow.entered
    await browser.post(`${url}/set?name=b&value=2`)
    slow.release()
    await pending
    expect((await browser.get(`${url}/me`)).body).toMatchObject({ user: 'ann', a: '1', b: '2' })
  })

  it('a logout racing a slow request stays a logout, and the slow response sends no cookie', async () => {
    const slow = gate()
    const url = await start({ pause: slow.pause })
    const browser = new Browser()
    await browser.post(`${url}/login?user=ann`)
    const pending = browser.tab().post(`${url}/set?name=a&value=late&slow=1`)
    await slow.entered
    await browser.post(`${url}/logout`)
    slow.release()
    expect((await pending).setCookie).toBeUndefined()
    expect((await new Browser().get(`${url}/me`)).body.user).toBeNull()
    const after = browser.tab()
    expect((await after.get(`${url}/me`)).body).toMatchObject({ user: null, a: null })
  })

  it('a slow request overlapping a login rotation does not send the old id back', async () => {
    const slow = gate()
    const url = await start({ pause: slow.pause, cookie: { maxAge: 3_600_000 } })
    const browser = new Browser()
    await browser.post(`${url}/set?name=a&value=1`)
    const pending = browser.tab().post(`${url}/set?name=b&value=2&slow=1`)
    await slow.entered
    await browser.post(`${url}/login?user=ann`)
    const loggedIn = browser.cookie
    slow.release()
    expect((await pending).setCookie).toBeUndefined()
    expect(browser.cookie).toBe(loggedIn)
    expect((await browser.get(`${url}/me`)).body.user).toBe('ann')
  })

  it('revokeAll({ exceptCurrent }) after changeId keeps this device and logs out the others', async () => {
    const url = await start()
    const laptop = new Browser()
    const phone = new Browser()
    const user = unique('bob')
    await laptop.post(`${url}/login?user=${user}`)
    await phone.post(`${url}/login?user=${user}`)
    const revoked = await laptop.post(`${url}/revoke-others`)
    expect(revoked.body).toEqual({ count: 1 })
    expect((await laptop.get(`${url}/me`)).body.user).toBe(user)
    expect((await phone.get(`${url}/me`)).body.user).toBeNull()
  })

  it('ids from a custom generator follow one rule: visible ASCII loads back, anything else is an error', async () => {
    const custom = unique('custom:id')
    let next = custom
    const url = await start({ genid: () => next })
    const browser = new Browser()
    await browser.post(`${url}/set?name=a&value=1`)
    expect((await browser.get(`${url}/me`)).body).toMatchObject({ id: custom, a: '1' })
    next = 'not an id'
    const res = await new Browser().post(`${url}/set?name=a&value=1`)
    expect(res.status).toBe(500)
    expect(res.body.code).toBe('INVALID_ID')
  })

  it('a store outage is an error the framework answers (503), never a silent new session', async () => {
    const shared = store()
    const flaky = failing(shared)
    const app = await adapter.start({ store: flaky })
    running.push(app)
    const browser = new Browser()
    await browser.post(`${app.url}/login?user=ann`)
    flaky.down = true
    const res = await browser.get(`${app.url}/me`)
    expect(res.status).toBe(503)
    expect(res.setCookie).toBeUndefined()
    flaky.down = false
    expect((await browser.get(`${app.url}/me`)).body.user).toBe('ann')
  })

  it('a browser-session cookie gets the configured server-side idle timeout', async () => {
    const shared = store()
    const app = await adapter.start({ store: shared, browserSessionTimeout: 90_000 })
    running.push(app)
    const browser = new Browser()
    const res = await browser.post(`${app.url}/set?name=a&value=1`)
    expect(res.setCookie).not.toMatch(/Expires=/i)
    const id = (await browser.get(`${app.url}/me`)).body.id
    expect((await shared.load(id))?.maxInactiveMs).toBe(90_000)
  })
}

/**
 * One store, two bindings: a session keeps its cookie attributes whichever framework
 * serves it next.
 */
export function crossFramework(
  first: BindingAdapter,
  second: BindingAdapter,
  store: () => SessionStore,
): void {
  const running: SuiteApp[] = []
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()))
  })

  // Attribute names are case-insensitive (RFC 6265); Koa's cookies module writes them lowercase.
  it(`a login on ${first.name} keeps Secure, SameSite and Domain on ${second.name}`, async () => {
    const cookie = { secure: true, sameSite: 'none' as const, domain: 'example.test', maxAge: 3_600_000 }
    const a = await first.start({ store: store(), cookie })
    const b = await second.start({ store: store(), cookie })
    running.push(a, b)
    const browser = new Browser()
    const login = await browser.post(`${a.url}/login?user=ann`)
    expect(login.setCookie).toMatch(/; Secure/i)
    const next = await browser.post(`${b.url}/set?name=a&value=1`)
    expect(next.setCookie).toMatch(/; Domain=example\.test/i)
    expect(next.setCookie).toMatch(/; Secure/i)
    expect(next.setCookie).toMatch(/; SameSite=None/i)
    expect((await browser.get(`${a.url}/me`)).body).toMatchObject({ user: 'ann', a: '1' })
  })
}
