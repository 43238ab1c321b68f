import { createRequire } from 'node:module'
import { afterEach, describe, expect, it } from 'vitest'
import type { FastifySessionOptions } from '../src/index'
import { Client, type Running, start } from './helpers'

// Loaded untyped: the peer's own module augmentation would clash with ours.
const peer = createRequire(import.meta.url)('@fastify/session') as unknown

const opened: Running[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.close()))
})

const routes = (app: Running['app']) => {
  app.get('/set', async (request) => {
    request.session.views = (request.session.views ?? 0) + 1
    return 'ok'
  })
  app.get('/peek', async () => 'ok')
  app.get('/logout', async (request) => {
    await request.session.destroy()
    return 'ok'
  })
  app.get('/regen', async (request) => {
    await request.session.regenerate()
    return 'ok'
  })
}

/** The Set-Cookie headers of a scenario, with values and dates normalised. */
async function trace(
  plugin: unknown,
  options: Partial<FastifySessionOptions>,
  steps: { path: string; cookie?: string }[],
): Promise<string[][]> {
  const running = await start(options, routes, { trustProxy: true }, plugin)
  opened.push(running)
  const client = new Client(running.url)
  const out: string[][] = []
  for (const step of steps) {
    if (step.cookie !== undefined) client.jar.set('sessionId', step.cookie)
    const res = await client.get(step.path)
    out.push(
      res.setCookies.map((line) =>
        line
          .replace(/^([^=]+)=[^;]+/, '$1=<value>')
          .replace(/Expires=[^;]+/, (m) => (m.includes('1970') ? m : 'Expires=<date>')),
      ),
    )
  }
  return out
}

const scenarios: [string, Partial<FastifySessionOptions>, { path: string; cookie?: string }[]][] = [
  ['defaults (secure: false)', {}, [{ path: '/set' }, { path: '/peek' }, { path: '/set' }]],
  ['secure defaulting to true over HTTP', { cookie: { secure: undefined as never } }, [{ path: '/set' }]],
  ["secure: 'auto' over HTTP", { cookie: { secure: 'auto' } }, [{ path: '/set' }, { path: '/peek' }]],
  [
    'maxAge, domain, sameSite, partitioned, httpOnly false',
    {
      cookie: {
        secure: false,
        maxAge: 60_000,
        domain: 'a.test',
        sameSite: 'none',
        partitioned: true,
        httpOnly: false,
      },
    },
    [{ path: '/set' }, { path: '/peek' }],
  ],
  ['rolling: false', { rolling: false }, [{ path: '/set' }, { path: '/peek' }, { path: '/set' }]],
  [
    'saveUninitialized: false with a forged cookie',
    { saveUninitialized: false },
    [{ path: '/peek', cookie: 'forged.value' }, { path: '/set' }],
  ],
  ['destroy', {}, [{ path: '/set' }, { path: '/logout' }, { path: '/peek' }]],
  ['regenerate', { saveUninitialized: false }, [{ path: '/set' }, { path: '/regen' }]],
  ['cookie path outside the request', { cookie: { secure: false, path: '/app' } }, [{ path: '/set' }]],
]

describe('Set-Cookie parity with @fastify/session', () => {
  it.each(scenarios)('%s', async (_title, options, steps) => {
    // touchAfter: 0 gives the peer's cadence: a rolling cookie is re-sent with a touch the
    // store confirmed (never blindly), and by default touches are throttled.
    const ours = await trace(undefined, { touchAfter: 0, ...options }, steps)
    const theirs = await trace(peer, options, steps)
    expect(ours).toEqual(theirs)
  })
})

describe('when the reply ends', () => {
  it('a read-only request with nothing to save has ended when reply.send returns, as with the peer', async () => {
    const seen: Record<string, boolean[]> = {}
    for (const [name, plugin] of [
      ['peer', peer],
      ['ours', undefined],
    ] as const) {
      const ended: boolean[] = []
      seen[name] = ended
      const running = await start(
        { rolling: false, saveUninitialized: false },
        (app) => {
          app.get('/login', async (request, reply) => {
            request.session.set('who', 'ada')
            reply.send('ok')
            ended.push(reply.raw.writableEnded)
            return reply
          })
          app.get('/read', async (request, reply) => {
            reply.send(String(request.session.get('who')))
            ended.push(reply.raw.writableEnded)
            return reply
          })
        },
        {},
        plugin,
      )
      opened.push(running)
      const client = new Client(running.url)
      await client.get('/login')
      expect((await client.get('/read')).body).toBe('ada')
    }
    // The login saves first (ours waits for the store); the read has nothing to save.
    expect(seen.ours![1]).toBe(true)
    expect(seen.ours![1]).toBe(seen.peer![1])
  })
})
