import Koa from 'koa'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import ours from '../src/index'
import { makeApp, peer } from './harness'

/** The `name=value` pairs of a response's cookies, ready to send back. */
const cookiesOf = (res: request.Response) =>
  ((res.headers['set-cookie'] as unknown as string[] | undefined) ?? [])
    .map((c) => c.split(';')[0])
    .join('; ')

describe('cookie mode: one cookie, readable by both', () => {
  it.each([
    ['koa-session', peer, '@sessionkit/koa', ours],
    ['@sessionkit/koa', ours, 'koa-session', peer],
  ] as const)('a cookie %s wrote is read by %s', async (_a, writer, _b, reader) => {
    const first = await request(makeApp(writer, { maxAge: 60_000 }).callback()).get('/set?user=alice')
    const cookie = cookiesOf(first)
    expect(cookie).toMatch(/^koa\.sess=.+; koa\.sess\.sig=.+$/)
    const read = await request(makeApp(reader, { maxAge: 60_000 }).callback())
      .get('/inc')
      .set('Cookie', cookie)
    expect(read.body.json).toEqual({ user: 'alice', views: 1 })
    expect(read.body.isNew).toBe(false)
  })

  it('a tampered cookie is no session (signature checked against app.keys)', async () => {
    const first = await request(makeApp(peer, {}).callback()).get('/set?role=user')
    const forged = Buffer.from(
      JSON.stringify({ role: 'admin', _expire: Date.now() + 60_000, _maxAge: 60_000 }),
    ).toString('base64')
    const cookie = cookiesOf(first).replace(/koa\.sess=[^;]+/, `koa.sess=${forged}`)
    const res = await request(makeApp(ours, {}).callback()).get('/get').set('Cookie', cookie)
    expect(res.body.json).toEqual({})
    expect(res.body.isNew).toBe(true)
  })

  it('key rotation: a cookie signed with an older app key is accepted and re-signed with the first', async () => {
    const old = makeApp(peer, {})
    old.keys = ['old key']
    const cookie = cookiesOf(await request(old.callback()).get('/set?user=bob'))
    for (const impl of [peer, ours]) {
      const app = makeApp(impl, {})
      app.keys = ['new key', 'old key']
      const res = await request(app.callback()).get('/get').set('Cookie', cookie)
      expect(res.body.json).toEqual({ user: 'bob' })
      const resigned = (res.headers['set-cookie'] as unknown as string[]).join('\n')
      expect(resigned).toMatch(/^koa\.sess\.sig=/)
    }
  })

  it('a bad or missing .sig: the same answer and the same .sig clearing as koa-session', async () => {
    const cookie = cookiesOf(await request(makeApp(peer, {}).callback()).get('/set?user=carol'))
    const variants = [
      cookie.replace(/koa\.sess\.sig=[^;]+/, 'koa.sess.sig=AAAA'),
      cookie.replace(/; koa\.sess\.sig=[^;]+/, ''),
      cookie.replace(/koa\.sess\.sig=([^;]+)/, (_m, sig: string) => `koa.sess.sig=${sig}x`),
    ]
    for (const sent of variants) {
      const send = (impl: typeof ours) =>
        request(makeApp(impl, {}).callback()).get('/get').set('Cookie', sent)
      const [fromPeer, fromOurs] = await Promise.all([send(peer), send(ours)])
      expect(fromOurs.body.json).toEqual(fromPeer.body.json)
      expect(fromOurs.body.json).toEqual({})
      expect(fromOurs.headers['set-cookie']).toEqual(fromPeer.headers['set-cookie'])
    }
  })

  it('app.keys as a custom signer object (not an array): read through it as koa-session does', async () => {
    const { createHmac } = await import('node:crypto')
    const sign = (data: string, key: string) => createHmac('sha256', key).update(data).digest('base64url')
    const signer = {
      sign: (data: string) => sign(data, 'first'),
      verify: (data: string, digest: string) => signer.index(data, digest) >= 0,
      index: (data: string, digest: string) => ['first', 'second'].findIndex((k) => sign(data, k) === digest),
    }
    const writer = makeApp(peer, {})
    writer.keys = signer as never
    const cookie = cookiesOf(await request(writer.callback()).get('/set?user=dan'))
    expect(cookie).toContain(`koa.sess.sig=${sign(`koa.sess=${cookie.split(/[=;]/)[1]}`, 'first')}`)
    for (const impl of [peer, ours]) {
      const app = makeApp(impl, {})
      app.keys = signer as never
      const res = await request(app.callback()).get('/get').set('Cookie', cookie)
      expect(res.body.json).toEqual({ user: 'dan' })
    }
  })

  it('a decoder failing with something else than a SyntaxError fails the request and clears the cookie', async () => {
    const decode = () => {
      throw new RangeError('bad cookie')
    }
    const results = []
    for (const impl of [peer, ours]) {
      const app = new Koa()
      app.keys = ['k']
      app.silent = true
      app.use(impl({ decode, signed: false }, app))
      app.use((ctx) => {
        ctx.body = ctx.session!.toJSON()
      })
      const res = await request(app.callback()).get('/').set('Cookie', 'koa.sess=abc')
      results.push([res.status, res.headers['set-cookie']])
    }
    expect(results[1]).toEqual(results[0])
    expect(results[0]![0]).toBe(500)
  })
})
