import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { format, promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../memory/src/index.ts'
import { type CommitRules, SessionManager } from '../src/index'
import { debug, resetSecureOverHttpWarning } from '../src/lifecycle/debug'

const run = promisify(execFile)
const fixture = fileURLToPath(new URL('./fixtures/logout-mystery.ts', import.meta.url))
const cookie = { originalMaxAge: 3_600_000, secure: true as const }

describe('NODE_DEBUG=sessionkit', () => {
  it('prints each request: where its session came from, the plan, store calls, and never a whole id', async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--conditions=@sessionkit/source', '--import', 'tsx', fixture],
      {
        env: { ...process.env, NODE_DEBUG: 'sessionkit' },
      },
    )
    const lines = stderr.split('\n').filter((line) => line.startsWith('SESSIONKIT'))
    const text = lines.map((line) => line.replace(/^SESSIONKIT \d+: /, '')).join('\n')
    expect(text).toMatch(/^commit \S{6}…: write \(forced\) -> created, set cookie \(new, modified\)$/m)
    expect(text).toMatch(/^store delete \S{6}…: done in [\d.]+ ms$/m)
    expect(text).toMatch(/^store load \S{6}…: not found \(never stored, deleted, expired or unreadable\) in/m)
    expect(text).toMatch(/-> created, no cookie \(new, modified; secure cookie over plain HTTP not sent\)$/m)
    expect(text).toMatch(/^cookie did not verify/m)
    const ids = JSON.parse(stdout) as string[]
    expect(ids).toHaveLength(2)
    for (const id of ids) {
      expect(text).toContain(id.slice(0, 6))
      expect(stderr).not.toContain(id)
    }
    expect(stderr.match(/SESSIONKIT_SECURE_OVER_HTTP/g)).toHaveLength(1)
  })

  it('is off unless NODE_DEBUG names it', async () => {
    const { stderr } = await run(
      process.execPath,
      ['--conditions=@sessionkit/source', '--import', 'tsx', fixture],
      {
        env: { ...process.env, NODE_DEBUG: 'http' },
      },
    )
    expect(stderr).not.toContain('SESSIONKIT ')
  })
})

describe('the in-process debug switch', () => {
  const enabled = debug.enabled
  const write = debug.write
  afterEach(() => {
    debug.enabled = enabled
    debug.write = write
  })

  it('says why a presented id loaded nothing: expired, or unreadable', async () => {
    const lines: string[] = []
    debug.enabled = true
    debug.write = (message, ...args) => lines.push(format(message, ...args))
    const store = new MemoryStore()
    const manager = new SessionManager({ store, maxInactiveMs: 60_000 })
    const first = await manager.begin({ id: undefined, cookie, secure: true })
    first.data.user = 'alice'
    await first.commit()
    const record = (await store.load(first.id))!
    await store.save({
      id: first.id,
      isNew: false,
      meta: {
        createdAt: record.createdAt,
        lastAccessedAt: record.lastAccessedAt,
        expiresAt: record.expiresAt,
      },
      set: { user: '{not json' },
      removed: [],
    })
    await manager.begin({ id: first.id, cookie, secure: true })
    expect(lines.join('\n')).toMatch(/load: session \S{6}… cannot be decoded/)
    lines.length = 0
    // A backend whose TTL reaps lazily (DynamoDB's may take days) hands back an expired record.
    const lazy = new MemoryStore()
    const lazyManager = new SessionManager({ store: lazy })
    const expired = await lazyManager.begin({ id: undefined, cookie, secure: true })
    expired.data.user = 'bob'
    await expired.commit()
    const stale = (await lazy.load(expired.id))!
    lazy.load = async (id) => (id === stale.id ? { ...stale, expiresAt: Date.now() - 1 } : undefined)
    await lazyManager.begin({ id: expired.id, cookie, secure: true })
    expect(lines.join('\n')).toMatch(/^load \S{6}…: expired$/m)

    // A store's own error message may name the id: only the error's code is printed.
    lines.length = 0
    lazy.load = async (id) => {
      throw Object.assign(new Error(`cannot read ${id}`), { code: 'ECONNRESET' })
    }
    await expect(lazyManager.begin({ id: expired.id, cookie, secure: true })).rejects.toThrow()
    expect(lines.join('\n')).toMatch(/^store load \S{6}…: failed in [\d.]+ ms \(STORE_\w+\)$/m)
    expect(lines.join('\n')).not.toContain(expired.id)
  })
})

describe('a secure cookie over plain HTTP', () => {
  const rules: Partial<CommitRules> = { secureOverHttp: 'no-cookie' }

  it('warns once per process, naming the option to set', async () => {
    resetSecureOverHttpWarning()
    const warnings: Error[] = []
    const listen = (warning: Error) => warnings.push(warning)
    process.on('warning', listen)
    try {
      const manager = new SessionManager({ store: new MemoryStore(), rules })
      for (let i = 0; i < 3; i++) {
        const lifecycle = await manager.begin({ id: undefined, cookie, secure: false })
        lifecycle.data.user = 'alice'
        const { cookie: sent } = await lifecycle.commit()
        expect(sent).toBeUndefined()
        if (i === 0) await once(process, 'warning')
      }
      // A warning is emitted on the next tick: one more turn, and still only the first.
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatchObject({ code: 'SESSIONKIT_SECURE_OVER_HTTP' })
      expect(warnings[0]!.message).toContain('proxy: true')
      expect(warnings[0]!.message).toContain('trustProxy')
    } finally {
      process.off('warning', listen)
    }
  })

  it('warns also where the rules skip the save with the cookie (@fastify/session)', async () => {
    resetSecureOverHttpWarning()
    const manager = new SessionManager({ store: new MemoryStore(), rules: { secureOverHttp: 'no-save' } })
    const lifecycle = await manager.begin({ id: undefined, cookie, secure: false })
    lifecycle.data.user = 'alice'
    const warned = once(process, 'warning')
    expect(await lifecycle.commit()).toEqual({ result: 'skipped', cookie: undefined })
    const [warning] = (await warned) as [Error & { code?: string }]
    expect(warning.code).toBe('SESSIONKIT_SECURE_OVER_HTTP')
  })

  it('does not warn where the cookie is sent: over HTTPS, or handed to the framework (koa)', async () => {
    resetSecureOverHttpWarning()
    const warnings: Error[] = []
    const listen = (warning: Error) => warnings.push(warning)
    process.on('warning', listen)
    try {
      const https = new SessionManager({ store: new MemoryStore(), rules })
      const koa = new SessionManager({ store: new MemoryStore(), rules: { secureOverHttp: 'send' } })
      for (const [manager, secure] of [
        [https, true],
        [koa, false],
      ] as const) {
        const lifecycle = await manager.begin({ id: undefined, cookie, secure })
        lifecycle.data.user = 'alice'
        expect((await lifecycle.commit()).cookie?.action).toBe('set')
      }
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings).toEqual([])
    } finally {
      process.off('warning', listen)
    }
  })
})
