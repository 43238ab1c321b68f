import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'tsup'
import { afterAll, describe, expect, it } from 'vitest'
import { requireReturnsDefault } from '../../../tsup.shared.ts'

const here = import.meta.dirname
const out = mkdtempSync(join(tmpdir(), 'sk-koa-cjs-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

describe('CommonJS', () => {
  it("require('@sessionkit/koa') is the middleware factory itself, as koa-session 5 and 6 were", async () => {
    await build({
      config: false,
      entry: [join(here, '../src/index.ts')],
      format: ['cjs'],
      outDir: out,
      target: 'node20',
      silent: true,
      noExternal: [/^@sessionkit\//],
      esbuildOptions: (options) => {
        options.conditions = ['@sessionkit/source']
      },
      footer: { js: requireReturnsDefault },
    })
    const script = `
      const session = require(${JSON.stringify(join(out, 'index.cjs'))})
      const Koa = require('koa')
      const app = new Koa()
      app.keys = ['k']
      app.use(session(app))
      app.use((ctx) => { ctx.session.n = 1; ctx.body = 'ok' })
      const server = app.listen(0, '127.0.0.1', async () => {
        const res = await fetch('http://127.0.0.1:' + server.address().port + '/')
        console.log(JSON.stringify({ type: typeof session, self: session.default === session,
          named: typeof session.createSession, Session: typeof session.Session,
          cookie: res.headers.getSetCookie().map((c) => c.split('=')[0]) }))
        server.close()
      })`
    const result = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: here }))
    expect(result).toEqual({
      type: 'function',
      self: true,
      named: 'function',
      Session: 'function',
      cookie: ['koa.sess', 'koa.sess.sig'],
    })
  })
})
