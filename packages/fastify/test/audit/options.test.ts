import { randomBytes } from 'node:crypto'
import fastifyCookie from '@fastify/cookie'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { PLUGINS } from './harness'

/** What `ready()` gives for these options: the error message, or 'ok'. */
async function readiness(plugin: unknown, options: Record<string, unknown>, cookie = true): Promise<string> {
  const app = Fastify()
  if (cookie) app.register(fastifyCookie)
  app.register(plugin as never, options)
  try {
    await app.ready()
    return 'ok'
  } catch (err) {
    return (err as Error).message
  } finally {
    await app.close()
  }
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex')
const cases: [string, Record<string, unknown>][] = [
  ['no secret', {}],
  ['a 32-character secret', { secret: hex(16) }],
  ['a 31-character secret', { secret: hex(16).slice(0, 31) }],
  ['a short secret in an array', { secret: [hex(16).slice(0, 31)] }],
  ['several secrets', { secret: [hex(16), hex(15)] }],
  ['an empty array', { secret: [] }],
  ['a Buffer', { secret: randomBytes(32) }],
  ['a signer without unsign', { secret: { sign: (x: string) => x, unsign: true } }],
  ['a signer without sign', { secret: { unsign: () => true } }],
]

describe('option checks side by side with @fastify/session', () => {
  it.each(cases)('%s', async (_title, options) => {
    const [theirs, ours] = [await readiness(PLUGINS[0][1], options), await readiness(PLUGINS[1][1], options)]
    expect(ours).toBe(theirs)
  })

  it('registered without @fastify/cookie', async () => {
    const options = { secret: hex(16) }
    const [theirs, ours] = [
      await readiness(PLUGINS[0][1], options, false),
      await readiness(PLUGINS[1][1], options, false),
    ]
    expect(ours).toBe(theirs)
  })
})
