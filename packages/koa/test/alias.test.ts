import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { build } from 'tsup'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireReturnsDefault } from '../../../tsup.shared.ts'

const here = import.meta.dirname
const out = mkdtempSync(join(tmpdir(), 'sk-koa-alias-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

/**
 * An app folder whose node_modules/koa-session is this package, as
 * `"koa-session": "npm:@sessionkit/koa"` installs it: both builds (own footer), workspace
 * sources bundled in so no dist is needed, and the real koa next to it.
 */
beforeAll(async () => {
  const pkg = join(out, 'node_modules', 'koa-session')
  for (const format of ['cjs', 'esm'] as const) {
    await build({
      config: false,
      entry: [join(here, '../src/index.ts')],
      format: [format],
      outDir: join(pkg, 'dist'),
      target: 'node20',
      silent: true,
      noExternal: [/^@sessionkit\//],
      esbuildOptions: (options) => {
        options.conditions = ['@sessionkit/source']
      },
      ...(format === 'cjs' ? { footer: { js: requireReturnsDefault } } : {}),
    })
  }
  writeFileSync(
    join(pkg, 'package.json'),
    JSON.stringify({
      name: '@sessionkit/koa',
      type: 'module',
      exports: { import: './dist/index.js', require: './dist/index.cjs' },
    }),
  )
  const koa = dirname(createRequire(import.meta.url).resolve('koa/package.json'))
  mkdirSync(join(out, 'node_modules'), { recursive: true })
  symlinkSync(koa, join(out, 'node_modules', 'koa'))
}, 60_000)

/** Runs `body` as an app file in the app folder; it prints one JSON line. */
function runApp(file: string, body: string): unknown {
  writeFileSync(join(out, file), body)
  return JSON.parse(execFileSync(process.execPath, [join(out, file)], { encoding: 'utf8', cwd: out }))
}

const serve = `
  app.keys = ['k']
  app.use((ctx) => { ctx.session.n = (ctx.session.n || 0) + 1; ctx.body = String(ctx.session.n) })
  const server = app.listen(0, '127.0.0.1', async () => {
    const res = await fetch('http://127.0.0.1:' + server.address().port + '/')
    console.log(JSON.stringify({ type: typeof session, body: await res.text(),
      cookies: res.headers.getSetCookie().map((c) => c.split('=')[0]), extra }))
    server.close()
  })`

describe('the npm alias "koa-session": "npm:@sessionkit/koa"', () => {
  it("CommonJS, as koa-session 5 and 6 apps wrote it: require('koa-session')(app) is callable", () => {
    const result = runApp(
      'app.cjs',
      `const session = require('koa-session')
       const Koa = require('koa')
       const app = new Koa()
       app.use(session(app))
       const extra = { self: session.default === session, named: typeof session.createSession,
         schema: typeof session.SessionOptions.parse }
       ${serve}`,
    )
    expect(result).toEqual({
      type: 'function',
      body: '1',
      cookies: ['koa.sess', 'koa.sess.sig'],
      extra: { self: true, named: 'function', schema: 'function' },
    })
  })

  it('ES modules, as koa-session 7 apps write it', () => {
    const result = runApp(
      'app.mjs',
      `import session, { createSession, SessionOptions } from 'koa-session'
       import Koa from 'koa'
       const app = new Koa()
       app.use(createSession({ maxAge: 1000 }, app))
       const extra = { named: typeof createSession, schema: SessionOptions.parse({}).key }
       ${serve}`,
    )
    expect(result).toEqual({
      type: 'function',
      body: '1',
      cookies: ['koa.sess', 'koa.sess.sig'],
      extra: { named: 'function', schema: 'koa.sess' },
    })
  })

  it('TypeScript: an app importing koa-session typechecks, session data typed by declaration merging', () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
    const output = execFileSync(process.execPath, [tsc, '-p', join(here, 'alias/tsconfig.json')], {
      encoding: 'utf8',
    })
    expect(output).toBe('')
  }, 60_000)
})
