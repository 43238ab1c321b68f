import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'tsup'
import { describe, expect, it } from 'vitest'
import { requireReturnsDefault } from '../../../tsup.shared.ts'
import { makeApp, request, sessionCookie, setCookieLine } from './helpers'

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')

describe('basics', () => {
  it('counts views across requests with one cookie', async () => {
    const app = makeApp({}, (app) => {
      app.get('/', (req, res) => {
        req.session.views = (req.session.views ?? 0) + 1
        // @ts-expect-error views is a number
        if (Math.random() > 2) req.session.views = 'not a number'
        res.send(String(req.session.views))
      })
    })
    const first = await request(app).get('/')
    expect(first.text).toBe('1')
    const cookie = sessionCookie(first)!
    expect(cookie).toMatch(/^connect\.sid=s%3A[\w-]+\.[\w%+/]+$/)
    expect(setCookieLine(first)).toBe(`${cookie}; Path=/; HttpOnly`)
    const second = await request(app).get('/').set('Cookie', cookie)
    expect(second.text).toBe('2')
    // unchanged id, not rolling, browser-session cookie: no new Set-Cookie
    expect(sessionCookie(second)).toBeUndefined()
  })
})

// As an app does it: merged into the package's SessionData, typed on Express's req.session.
declare module '@sessionkit/express' {
  interface SessionData {
    views: number
  }
}

describe('CommonJS entry', () => {
  it('require() returns the middleware itself, with Store, MemoryStore, Session and Cookie', async () => {
    const out = mkdtempSync(join(tmpdir(), 'sk-express-cjs-'))
    try {
      // The package's own build settings, with workspace sources bundled in so no dist is needed.
      await build({
        config: false,
        entry: [join(packageDir, 'src/index.ts')],
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
      const probe = `
        const s = require(${JSON.stringify(join(out, 'index.cjs'))})
        const mw = s({ secret: 'x', resave: false, saveUninitialized: false })
        console.log(JSON.stringify({
          type: typeof s, self: s.default === s, length: mw.length, repository: typeof mw.repository,
          members: ['Store', 'MemoryStore', 'Session', 'Cookie'].map((n) => typeof s[n]),
        }))`
      const result = JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }))
      expect(result).toEqual({
        type: 'function',
        self: true,
        length: 3,
        repository: 'object',
        members: ['function', 'function', 'function', 'function'],
      })
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })
})
