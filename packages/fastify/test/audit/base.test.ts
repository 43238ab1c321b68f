// Requests from @fastify/session's own base and store tests, run side by side: sessions seeded
// through `request.sessionStore.set` from a hook, expired and unknown ids, prefixes, signers.
import fastifyCookie, { Signer, sign } from '@fastify/cookie'
import Fastify, { type FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { IdNames, PLUGINS, SECRET } from './harness'
import { describeSession } from './routes'

const ID = 'Qk_XT2K7-clT-x1tVvoY6tIQ83iP72KN'
const https = { 'x-forwarded-proto': 'https' }

interface Case {
  options: Record<string, unknown>
  /** Written with the default store's `set(sid, session, cb)` before each request. */
  seed?: Record<string, unknown>
  request: { method?: 'GET' | 'POST'; url?: string; headers?: Record<string, string>; payload?: string }
}

async function observe(plugin: unknown, c: Case) {
  const app: FastifyInstance = Fastify({ trustProxy: true })
  await app.register(fastifyCookie)
  await app.register(plugin as never, { secret: SECRET, ...c.options })
  if (c.seed) {
    const seed = c.seed
    app.addHook('onRequest', (request, _reply, done) => {
      ;(request.sessionStore as unknown as { set: Function }).set(ID, structuredClone(seed), done)
    })
  }
  app.get('/', async (request) => {
    request.session.set('test', {})
    return describeSession(request)
  })
  app.post('/', async () => 'ok')
  await app.ready()
  const res = await app.inject({ method: c.request.method ?? 'GET', url: c.request.url ?? '/', ...c.request })
  await app.close()
  const names = new IdNames()
  names.name(ID)
  const setCookie = res.cookies.map((cookie) => ({
    ...cookie,
    value: cookie.value ? names.name(cookie.value.replace(/^s:/, '')) : cookie.value,
    expires: cookie.expires ? 'a date' : undefined,
  }))
  let body: unknown = res.body
  try {
    const parsed = JSON.parse(res.body)
    if (parsed.id) parsed.id = names.name(parsed.id)
    body = parsed
  } catch {}
  return { status: res.statusCode, setCookie, body }
}

const cookieFor = (id: string, secret = SECRET) => `sessionId=${encodeURIComponent(sign(id, secret))}`

const cases: [string, Case][] = [
  [
    'POST with an empty JSON body: 400, no cookie',
    { options: {}, request: { method: 'POST', headers: { 'content-type': 'application/json' } } },
  ],
  ['a new session over https', { options: {}, request: { headers: https } }],
  [
    'unknown id: a new session and cookie',
    { options: {}, request: { headers: { ...https, cookie: cookieFor(ID) } } },
  ],
  [
    'seeded session with a cookie: loaded',
    {
      options: {},
      seed: { a: 1, cookie: { secure: true, httpOnly: true, path: '/', expires: Date.now() + 60_000 } },
      request: { headers: { ...https, cookie: cookieFor(ID) } },
    },
  ],
  [
    'seeded session whose cookie expired: a new session',
    {
      options: { cookie: { maxAge: 100 } },
      seed: { cookie: { secure: true, httpOnly: true, path: '/', expires: Date.now() - 1000 } },
      request: { headers: { ...https, cookie: cookieFor(ID) } },
    },
  ],
  [
    'seeded session without a cookie: loaded',
    { options: {}, seed: { test: { x: 1 } }, request: { headers: { ...https, cookie: cookieFor(ID) } } },
  ],
  [
    'bad signature: a new session',
    {
      options: {},
      seed: { test: {} },
      request: { headers: { ...https, cookie: `sessionId=${ID}.badinvalidsignaturenoooo` } },
    },
  ],
  [
    'cookiePrefix s: with connect.sid',
    {
      options: { cookieName: 'connect.sid', cookiePrefix: 's:' },
      seed: { expires: Date.now() + 1000 },
      request: { headers: { ...https, cookie: `connect.sid=s%3A${encodeURIComponent(sign(ID, SECRET))}` } },
    },
  ],
  [
    'request outside the cookie path',
    { options: { cookie: { path: '/path/' } }, request: { headers: https } },
  ],
  [
    'algorithm sha512',
    { options: { algorithm: 'sha512' }, request: { headers: { ...https, cookie: cookieFor(ID) } } },
  ],
  [
    'custom Signer',
    {
      options: { secret: new Signer(SECRET, 'sha512') },
      seed: { a: 2 },
      request: {
        headers: {
          ...https,
          cookie: `sessionId=${encodeURIComponent(new Signer(SECRET, 'sha512').sign(ID))}`,
        },
      },
    },
  ],
  [
    'secret array: the older secret re-signed',
    {
      options: { secret: ['a-new-secret-with-at-least-32-characters', SECRET] },
      seed: { test: 0, cookie: {} },
      request: { headers: { ...https, cookie: cookieFor(ID) } },
    },
  ],
]

describe('@fastify/session base cases side by side', () => {
  it.each(cases)('%s', async (_title, c) => {
    const [theirs, ours] = [await observe(PLUGINS[0][1], c), await observe(PLUGINS[1][1], c)]
    expect(ours).toEqual(theirs)
  })
})
