import { SealedCookieStore, type SessionStore } from '@sessionkit/core'
import { afterEach, describe, expect, it } from 'vitest'
import type { AppOptions, BindingAdapter, SuiteApp } from './bindings/adapter'
import { Browser } from './bindings/client'
import { expressAdapter } from './bindings/express'
import { fastifyAdapter } from './bindings/fastify'
import { koaAdapter } from './bindings/koa'

// Stateless sessions: every app is its own "process" with its own SealedCookieStore (no
// shared state at all); only the sealing secrets are shared.
const BINDINGS: BindingAdapter[] = [expressAdapter, fastifyAdapter, koaAdapter]
const OLD = 'the old sealing secret, at least 32 bytes'
const NEW = 'the new sealing secret, at least 32 bytes!'

const running: SuiteApp[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()))
})

async function start(
  adapter: BindingAdapter,
  secrets: string[] = [NEW],
  options: Partial<AppOptions> = {},
): Promise<string> {
  const store: SessionStore = new SealedCookieStore({ secrets })
  const app = await adapter.start({ store, ...options })
  running.push(app)
  return app.url
}

describe.each(BINDINGS.map((b) => [b.name, b] as const))('sealed cookie on %s', (_name, adapter) => {
  it('round trip: the session lives in the cookie, any instance reads it, a read-only request sends none', async () => {
    const one = await start(adapter)
    const two = await start(adapter)
    const browser = new Browser()
    const set = await browser.post(`${one}/set?name=a&value=1`)
    expect(set.setCookie).toMatch(/^connect\.sid=s(%3A|:)[\w-]{100,}\./)
    const me = await browser.get(`${two}/me`)
    expect(me.body).toMatchObject({ a: '1', user: null })
    expect(me.body.id).toMatch(/^[\w-]{32}$/)
    expect(me.setCookie).toBeUndefined()
    await browser.post(`${two}/set?name=b&value=2`)
    expect((await browser.get(`${one}/me`)).body).toMatchObject({ id: me.body.id, a: '1', b: '2' })
  })

  it('login rotates the id and keeps the data; logout clears the cookie', async () => {
    const url = await start(adapter)
    const browser = new Browser()
    await browser.post(`${url}/set?name=a&value=before`)
    const before = (await browser.get(`${url}/me`)).body.id
    await browser.post(`${url}/login?user=ann`)
    const me = (await browser.get(`${url}/me`)).body
    expect(me).toMatchObject({ user: 'ann', a: 'before' })
    expect(me.id).not.toBe(before)
    const copy = browser.tab()
    const out = await browser.post(`${url}/logout`)
    expect(out.setCookie).toMatch(/expires=thu, 01 jan 1970/i)
    expect((await browser.get(`${url}/me`)).body.user).toBeNull()
    // the stateless trade-off: a copy taken before the logout still opens until it expires
    expect((await copy.get(`${url}/me`)).body.user).toBe('ann')
  })

  it('key rotation: a cookie sealed with the old key opens, is re-sealed with the new one, nobody is logged out', async () => {
    const before = await start(adapter, [OLD])
    const after = await start(adapter, [NEW, OLD])
    const onlyNew = await start(adapter, [NEW])
    const browser = new Browser()
    await browser.post(`${before}/login?user=ann`)
    expect((await new Browser().get(`${onlyNew}/me`)).body.user).toBeNull()
    const copy = browser.tab()
    expect((await copy.get(`${onlyNew}/me`)).body.user).toBeNull()
    await browser.post(`${after}/set?name=a&value=1`)
    expect((await browser.get(`${onlyNew}/me`)).body).toMatchObject({ user: 'ann', a: '1' })
  })

  it('a tampered, truncated or foreign cookie is a new empty session, never an error page', async () => {
    const url = await start(adapter)
    const foreign = await start(adapter, [OLD])
    const browser = new Browser()
    await browser.post(`${url}/login?user=ann`)
    const good = browser.cookie!
    const eve = new Browser()
    await eve.post(`${foreign}/login?user=eve`)
    for (const bad of [
      good.slice(0, 60),
      good.replace(/A/, 'B'),
      `${good}x`,
      eve.cookie!,
      's%3Agarbage.sig',
    ]) {
      const tab = new Browser()
      tab.cookie = bad
      const res = await tab.get(`${url}/me`)
      expect(res.status).toBe(200)
      expect(res.body.user).toBeNull()
    }
    expect((await browser.get(`${url}/me`)).body.user).toBe('ann')
  })

  it('a session too large for a cookie answers SESSION_TOO_LARGE (413) and sends no cookie', async () => {
    const url = await start(adapter)
    const browser = new Browser()
    await browser.post(`${url}/login?user=ann`)
    const res = await browser.post(`${url}/set?name=a&value=${'x'.repeat(4000)}`)
    expect(res.status).toBe(413)
    expect(res.body).toMatchObject({ code: 'SESSION_TOO_LARGE' })
    expect(res.body.message).toMatch(/the sealed session is \d+ bytes/)
    expect(res.setCookie).toBeUndefined()
    expect((await browser.get(`${url}/me`)).body).toMatchObject({ user: 'ann', a: null })
  })

  it('revokeAll is NOT_SUPPORTED: there is no server state to revoke', async () => {
    const url = await start(adapter)
    const browser = new Browser()
    await browser.post(`${url}/login?user=ann`)
    const res = await browser.post(`${url}/revoke-others`)
    expect(res.body).toMatchObject({
      code: 'NOT_SUPPORTED',
      message: expect.stringMatching(/no server state/),
    })
  })
})

describe('one sealed cookie across frameworks', () => {
  for (const first of BINDINGS) {
    for (const second of BINDINGS) {
      if (first === second) continue
      it(`sealed by ${first.name}, opened and re-sealed by ${second.name}, read back by ${first.name}`, async () => {
        const cookie = { maxAge: 3_600_000 }
        const a = await start(first, [NEW], { cookie })
        const b = await start(second, [NEW], { cookie })
        const browser = new Browser()
        await browser.post(`${a}/login?user=ann`)
        const id = (await browser.get(`${a}/me`)).body.id
        expect((await browser.get(`${b}/me`)).body).toMatchObject({ id, user: 'ann' })
        await browser.post(`${b}/set?name=a&value=1`)
        expect((await browser.get(`${a}/me`)).body).toMatchObject({ id, user: 'ann', a: '1' })
      })
    }
  }
})
