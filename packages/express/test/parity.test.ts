import { createRequire } from 'node:module'
import express from 'express'
import { describe, expect, it } from 'vitest'
import session from '../src/index'
import { request, SECRET } from './helpers'

const peerSession = createRequire(import.meta.url)('express-session')

/** The Set-Cookie line with the value and the date masked, so ours and the peer's compare. */
const setCookieLine = (res: request.Response) =>
  (res.headers['set-cookie'] as unknown as string[] | undefined)?.[0]
const shape = (line: string | undefined) =>
  line?.replace(/^([^=]+)=[^;]*/, '$1=<value>').replace(/Expires=[^;]+/, 'Expires=<date>')

/** Runs one scenario on a fresh app and reports what the client saw at each step. */
async function scenario(make: (opts: object) => express.RequestHandler, opts: object, proto?: string) {
  const app = express()
  app.set('trust proxy', true)
  app.use(make({ secret: SECRET, ...opts }))
  app.get('/none', (_req, res) => res.send('-'))
  app.get('/set', (req: any, res) => {
    req.session.n = (req.session.n ?? 0) + 1
    res.send(String(req.session.n))
  })
  const steps: (string | undefined)[] = []
  const send = (path: string, cookie?: string) => {
    const r = request(app).get(path)
    if (proto) r.set('X-Forwarded-Proto', proto)
    return cookie ? r.set('Cookie', cookie) : r
  }
  const first = await send('/none')
  steps.push(shape(setCookieLine(first)))
  const created = await send('/set')
  steps.push(shape(setCookieLine(created)))
  const cookie = setCookieLine(created)?.split(';')[0]
  steps.push(
    shape(setCookieLine(await send('/none', cookie))),
    shape(setCookieLine(await send('/set', cookie))),
  )
  const body = cookie ? (await send('/set', cookie)).text : undefined
  return { steps, body }
}

const cases: [string, object, string?][] = [
  ['peer defaults (resave, saveUninitialized unset)', {}],
  ['resave false, saveUninitialized false', { resave: false, saveUninitialized: false }],
  ['maxAge', { resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 } }],
  [
    'rolling with maxAge',
    { resave: false, saveUninitialized: true, rolling: true, cookie: { maxAge: 60_000 } },
  ],
  ['rolling browser-session', { resave: false, saveUninitialized: false, rolling: true }],
  [
    'name and attributes',
    {
      name: 'sid',
      saveUninitialized: false,
      resave: false,
      cookie: { httpOnly: false, sameSite: 'strict', domain: 'a.test', path: '/' },
    },
  ],
  ['secure over http', { resave: false, saveUninitialized: true, cookie: { secure: true } }],
  ['secure over https', { resave: false, saveUninitialized: true, cookie: { secure: true } }, 'https'],
  [
    'auto over https',
    { resave: false, saveUninitialized: true, cookie: { secure: 'auto', sameSite: 'auto' } },
    'https',
  ],
  [
    'priority, partitioned',
    { resave: false, saveUninitialized: true, cookie: { priority: 'low', partitioned: true, secure: true } },
    'https',
  ],
]

describe('same cookies as express-session, request by request', () => {
  it.each(cases)('%s', async (_label, opts, proto) => {
    const theirs = await scenario(peerSession, opts, proto)
    const ours = await scenario(session as any, opts, proto)
    expect(ours).toEqual(theirs)
    if (opts !== cases[6]![1]) expect(theirs.steps.filter(Boolean).length).toBeGreaterThan(0) // the case says something
  })
})
