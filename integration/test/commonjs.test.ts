import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'tsup'
import { afterAll, describe, expect, it } from 'vitest'
import { requireReturnsDefault } from '../../tsup.shared.ts'

const root = join(import.meta.dirname, '..', '..')
const out = mkdtempSync(join(tmpdir(), 'sk-cjs-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

/** The package's CommonJS build (its own footer), workspace sources bundled in, so no dist is needed. */
async function buildCjs(pkg: string): Promise<string> {
  const outDir = join(out, pkg)
  await build({
    config: false,
    entry: [join(root, 'packages', pkg, 'src/index.ts')],
    format: ['cjs'],
    outDir,
    target: 'node20',
    silent: true,
    noExternal: [/^@sessionkit\//],
    esbuildOptions: (options) => {
      options.conditions = ['@sessionkit/source']
    },
    footer: { js: requireReturnsDefault },
  })
  return join(outDir, 'index.cjs')
}

/** What `require()` of a built file gives, seen from a plain CommonJS process. */
function probe(file: string, body: string): unknown {
  const script = `const m = require(${JSON.stringify(file)}); console.log(JSON.stringify((() => { ${body} })()))`
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: root }))
}

describe('require() returns what the peers return', () => {
  it("@sessionkit/express: the middleware itself, with express-session's members", async () => {
    const file = await buildCjs('express')
    const result = probe(
      file,
      `const mw = m({ secret: 'x', resave: false, saveUninitialized: false })
       return { type: typeof m, self: m.default === m, length: mw.length, repository: typeof mw.repository,
         members: ['Store', 'MemoryStore', 'Session', 'Cookie'].map((n) => typeof m[n]) }`,
    )
    expect(result).toEqual({
      type: 'function',
      self: true,
      length: 3,
      repository: 'object',
      members: ['function', 'function', 'function', 'function'],
    })
  })

  it('@sessionkit/fastify: the plugin itself, also as .default and .fastifySession', async () => {
    const file = await buildCjs('fastify')
    const result = probe(
      file,
      `return { type: typeof m, self: m.default === m, named: m.fastifySession === m,
         name: m[Symbol.for('fastify.display-name')], stores: [typeof m.MemoryStore, typeof m.Store] }`,
    )
    expect(result).toEqual({
      type: 'function',
      self: true,
      named: true,
      name: '@fastify/session',
      stores: ['function', 'function'],
    })
  })
})
