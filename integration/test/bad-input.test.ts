import { isValidSessionId } from '@sessionkit/core'
import { MemoryStore } from '@sessionkit/memory'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { availableFrameworks, FRAMEWORKS, type RunningApp } from '../src/apps/index'
import { SHARED_CONFIG } from '../src/config'
import { Client } from './support/client'
import { CountingStore } from './support/counting-store'
import { rawRequest } from './support/raw-http'

// Hostile cookies through every binding, generated: truncated, tampered, oversized, in the
// wrong alphabet, duplicated, unicode, NUL, another user's signature. The apps run in this
// process on a store that records every id it is asked about.
const frameworks = await availableFrameworks()
const NAME = SHARED_CONFIG.cookieName

describe.each(frameworks)('%s: bad session cookies', (framework) => {
  let app: RunningApp
  let store: CountingStore
  let ann: string
  let bob: string
  beforeAll(async () => {
    store = new CountingStore(new MemoryStore())
    app = await FRAMEWORKS[framework].start({ name: framework, store })
    const login = async (user: string) => {
      const client = new Client(app.url)
      expect((await client.post(`/api/login?user=${user}`)).status).toBe(200)
      return client.jar.get(NAME)!
    }
    ann = await login('ann')
    bob = await login('bob')
  })
  afterAll(async () => {
    await app?.close()
    await store?.close()
  })

  it('never crash or 5xx, never ask the store about an id the server did not issue, never show another user', async () => {
    const decoded = () => decodeURIComponent(ann)
    const annId = () => /^s:([^.]+)\./.exec(decoded())![1]!
    const bobSig = () => decoded().slice(0, 0) + decodeURIComponent(bob).split('.').slice(1).join('.')
    const value = fc.oneof(
      // truncated
      fc.nat().map((n) => decoded().slice(0, n % decoded().length)),
      // one character tampered
      fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })).map(([n, c]) => {
        const v = decoded()
        const at = n % v.length
        return v.slice(0, at) + c + v.slice(at + 1)
      }),
      // oversized: the id or the whole value repeated
      fc.integer({ min: 2, max: 300 }).map((k) => `s:${annId().repeat(k)}.${decoded().split('.')[1]}`),
      // wrong alphabet / unicode / NUL anywhere
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: 'grapheme', maxLength: 60 }).map((s) => `s:${s}.${decoded().split('.')[1]}`),
      fc.nat().map((n) => {
        const v = decoded()
        const at = n % v.length
        return `${v.slice(0, at)}\0${v.slice(at)}`
      }),
      // ann's id under bob's signature
      fc.constant(`s:${annId()}.${bobSig()}`),
      // unsigned, or signed the way another framework would not
      fc.constantFrom(annId(), `s:${annId()}`, `${annId()}.${decoded().split('.')[1]}`, 's:', '.', ''),
    )
    const headers = fc.oneof(
      value.map((v) => [`Cookie: ${NAME}=${v}`]),
      value.map((v) => [`Cookie: ${NAME}=${encodeURIComponent(v)}`]),
      // duplicated: two cookies of the name, or two Cookie headers
      value.map((v) => [`Cookie: ${NAME}=${v}; ${NAME}=${v}`]),
      value.map((v) => [`Cookie: ${NAME}=${v}`, `Cookie: ${NAME}=${v}x`]),
    )
    const statuses: Record<number, number> = {}
    await fc.assert(
      fc.asyncProperty(headers, fc.constantFrom('GET /api/me', 'POST /api/count'), async (lines, route) => {
        const [method, path] = route.split(' ') as [string, string]
        const asked = store.asked.length
        const reply = await rawRequest(app.port, method, path, lines)
        statuses[reply.status] = (statuses[reply.status] ?? 0) + 1
        expect(reply.status).toBeLessThan(500)
        expect(reply.body).not.toContain('"user":"bob"')
        for (const id of store.asked.slice(asked)) {
          expect(isValidSessionId(id)).toBe(true)
          expect(store.issued.has(id)).toBe(true)
        }
      }),
      { numRuns: 300 },
    )
    console.info(`${framework}: 300 hostile cookies, statuses ${JSON.stringify(statuses)}`)
    // Still serving its users.
    const still = await rawRequest(app.port, 'GET', '/api/me', [`Cookie: ${NAME}=${ann}`])
    expect(still.status).toBe(200)
    expect(still.body).toContain('"user":"ann"')
  })
})
