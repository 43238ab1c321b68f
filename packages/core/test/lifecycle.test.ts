import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../memory/src/index.ts'
import {
  type CommitRules,
  type CookieSettings,
  isConnectDriven,
  isSecure,
  isSessionError,
  MAX_COOKIE_AGE_MS,
  type OpenInput,
  SessionManager,
  type SessionManagerOptions,
  settle,
} from '../src/index'
import { peerWrites } from '../src/peer-writes'

const DEFAULTS: CookieSettings = {
  originalMaxAge: 3_600_000,
  path: '/',
  httpOnly: true,
  secure: true,
  sameSite: 'none',
}

function setup(rules: Partial<CommitRules> = {}, options: Partial<SessionManagerOptions> = {}) {
  const store = new MemoryStore()
  const manager = new SessionManager({ store, rules, ...options })
  const begin = (id?: string, input: Partial<OpenInput> = {}) =>
    manager.begin({ id, cookie: DEFAULTS, secure: true, ...input })
  return { store, manager, begin }
}

/** A logged-in session: created, saved, its id. */
async function login(begin: ReturnType<typeof setup>['begin'], principal = 'alice') {
  const lifecycle = await begin()
  lifecycle.data.user = principal
  lifecycle.session.setPrincipal(principal)
  const { result, cookie } = await lifecycle.commit()
  expect(result).toBe('created')
  expect(cookie?.action).toBe('set')
  return lifecycle.id
}

describe('RequestLifecycle', () => {
  it('keeps per-session cookie settings in one format every binding reads the same way', async () => {
    const { begin, store } = setup()
    const first = await begin()
    first.data.a = 1
    first.cookie = { ...first.cookie, domain: 'example.test' } // a per-session override
    await first.commit()
    const stored = JSON.parse((await store.load(first.id))!.attributes.cookie!)
    expect(stored).toEqual({ originalMaxAge: 3_600_000, domain: 'example.test' }) // never `expires`
    // Another binding with the same configuration: every attribute comes back.
    const next = await begin(first.id)
    next.data.a = 2
    const { cookie } = await next.commit()
    expect(cookie).toMatchObject({
      action: 'set',
      attributes: { path: '/', httpOnly: true, secure: true, sameSite: 'none', domain: 'example.test' },
    })
  })

  it('revokeAll({ exceptCurrent }) after changeId spares the device that asked', async () => {
    const { begin, manager } = setup()
    const laptop = await login(begin)
    const phone = await login(begin)
    const current = await begin(laptop)
    const newId = current.changeId() // "change password": rotate, then log out the others
    expect(await current.revokeAll({ exceptCurrent: true })).toBe(1)
    const { result, cookie } = await current.commit()
    expect(result).toBe('saved')
    expect(cookie).toMatchObject({ action: 'set', id: newId })
    expect(await manager.repository.load(newId)).toBeDefined()
    expect(await manager.repository.load(phone)).toBeUndefined()
  })

  it('sends no Set-Cookie when the session went away under a slower request', async () => {
    const { begin } = setup({ rolling: true })
    const id = await login(begin)
    const slow = await begin(id)
    const loginRequest = await begin(id)
    loginRequest.changeId()
    await loginRequest.commit()
    slow.data.cart = ['apple']
    expect(await slow.commit()).toEqual({ result: 'gone', cookie: undefined })
  })

  it('re-sends a rolling cookie only with a touch the store confirmed', async () => {
    const throttled = setup({ rolling: true, rollingTouch: 'throttled' }, { touchAfterMs: 60_000 })
    const id = await login(throttled.begin)
    expect(await (await throttled.begin(id)).commit()).toEqual({ result: 'unchanged', cookie: undefined })

    const eager = setup({ rolling: true, rollingTouch: 'every-request' }, { touchAfterMs: 60_000 })
    const other = await login(eager.begin)
    const reading = await eager.begin(other)
    const touched = await reading.commit()
    expect(touched.result).toBe('touched')
    expect(touched.cookie?.action).toBe('set')
    const stale = await eager.begin(other)
    await eager.manager.repository.delete(other) // logout elsewhere meanwhile
    expect(await stale.commit()).toEqual({ result: 'gone', cookie: undefined })
  })

  it('refuses a non-finite cookie.maxAge before writing, and clamps a huge one to 400 days', async () => {
    const { begin, store } = setup()
    const id = await login(begin)
    const before = await store.load(id)
    const broken = await begin(id)
    broken.data.more = true
    broken.cookie.originalMaxAge = Number.NaN
    await expect(broken.commit()).rejects.toSatisfy((err) => isSessionError(err, 'INVALID_OPTIONS'))
    expect(await store.load(id)).toEqual(before)

    const huge = await begin(id)
    huge.cookie.originalMaxAge = 1e308
    const { cookie } = await huge.commit()
    const record = (await store.load(id))!
    expect(record.maxInactiveMs).toBe(MAX_COOKIE_AGE_MS)
    expect(cookie?.action === 'set' && cookie.expires!.getTime()).toBeLessThanOrEqual(
      Date.now() + MAX_COOKIE_AGE_MS,
    )
  })

  it('caps the cookie expiry at the absolute timeout', async () => {
    const { begin } = setup({}, { absoluteTimeoutMs: 60_000 })
    const lifecycle = await begin()
    lifecycle.data.a = 1
    const { cookie } = await lifecycle.commit()
    const expires = cookie?.action === 'set' ? cookie.expires!.getTime() : 0
    expect(expires).toBeLessThanOrEqual(lifecycle.session.createdAt + 60_000)
  })

  it('gives browser-session cookies the configured server-side idle timeout', async () => {
    const { begin, store } = setup({}, { browserSessionTimeoutMs: 15 * 60_000 })
    const lifecycle = await begin(undefined, { cookie: { ...DEFAULTS, originalMaxAge: null } })
    lifecycle.data.a = 1
    const { cookie } = await lifecycle.commit()
    expect(cookie?.action === 'set' && cookie.expires).toBeUndefined()
    expect((await store.load(lifecycle.id))!.maxInactiveMs).toBe(15 * 60_000)
  })

  it('checks ids from a custom generator by one rule, and loads them back', async () => {
    let next = 'user-42:session'
    const { begin } = setup({}, { genid: () => next })
    const id = await login(begin)
    expect(id).toBe('user-42:session')
    expect((await begin(id)).isNew).toBe(false)
    next = 'has space'
    await expect(begin()).rejects.toSatisfy((err) => isSessionError(err, 'INVALID_ID'))
  })

  it('applies the Secure-over-HTTP rule: no cookie, no save at all, or the framework decides', async () => {
    for (const [rule, saved] of [
      ['no-cookie', true],
      ['no-save', false],
      ['send', true],
    ] as const) {
      const { begin, store } = setup({ secureOverHttp: rule, saveUninitialized: true })
      const lifecycle = await begin(undefined, { secure: false })
      lifecycle.data.a = 1
      const { cookie } = await lifecycle.commit()
      expect(cookie?.action).toBe(rule === 'send' ? 'set' : undefined)
      expect((await store.load(lifecycle.id)) !== undefined).toBe(saved)
    }
  })

  it("follows express-session's cookie rule for modified browser-session cookies", async () => {
    const { begin } = setup({ resendModified: 'persistent' })
    const noMaxAge = { ...DEFAULTS, originalMaxAge: null }
    const created = await begin(undefined, { cookie: noMaxAge })
    created.data.a = 1
    await created.commit()
    const changed = await begin(created.id, { cookie: noMaxAge })
    changed.data.a = 2
    expect(await changed.commit()).toEqual({ result: 'saved', cookie: undefined })
  })
})

describe('explicit saves (koa-session)', () => {
  it('re-sends the cookie of an unchanged session saved explicitly, only with resendExplicitSave', async () => {
    for (const resendExplicitSave of [true, false]) {
      const { begin } = setup({ resendExplicitSave })
      const id = await login(begin)
      const lifecycle = await begin(id)
      await lifecycle.save()
      const { cookie } = await lifecycle.commit()
      expect(cookie?.action === 'set').toBe(resendExplicitSave)
    }
  })

  it('reports why the commit would write: data changed, forced by the rules, or none', async () => {
    // koa-session's beforeSave question, answered from the plan.
    const writeReason = (lifecycle: Awaited<ReturnType<typeof begin>>) => {
      const plan = lifecycle.preview().plan
      if (plan?.store !== 'write') return undefined
      return lifecycle.isModified() ? 'modified' : plan.force ? 'forced' : undefined
    }
    const { begin } = setup({ renew: false })
    expect(writeReason(await begin())).toBeUndefined() // new and empty
    const fresh = await begin()
    fresh.data.a = 1
    expect(writeReason(fresh)).toBe('modified')
    const id = await login(begin)
    const loaded = await begin(id)
    expect(writeReason(loaded)).toBeUndefined()
    loaded.data.user = 'bob'
    expect(writeReason(loaded)).toBe('modified')
    const rolling = setup({ rolling: true })
    const rolled = await rolling.begin(await login(rolling.begin))
    expect(writeReason(rolled)).toBe('forced')
  })
})

describe('isSecure', () => {
  it("has the peers' proxy semantics", () => {
    const behindProxy = { encrypted: false, forwardedProto: 'https, http', framework: false }
    expect(isSecure(behindProxy, true)).toBe(true)
    expect(isSecure(behindProxy, false)).toBe(false)
    expect(isSecure(behindProxy, undefined)).toBe(false)
    expect(isSecure({ framework: true }, undefined)).toBe(true)
    expect(isSecure({ encrypted: true }, false)).toBe(true)
  })
})

describe('settle', () => {
  it('bridges callbacks (with the peer’s success value) and promises', async () => {
    const args: unknown[][] = []
    settle(
      async () => undefined,
      (...a: unknown[]) => args.push(a),
      { success: null },
    )
    settle(
      async () => undefined,
      (...a: unknown[]) => args.push(a),
    )
    settle(
      async () => 3,
      (...a: unknown[]) => args.push(a),
    )
    await expect(settle(async () => 'x')).resolves.toBe('x')
    await new Promise((r) => setImmediate(r))
    expect(args).toEqual([[null], [undefined], [null, 3]])
  })
})

/** JSON, recording every value it encodes. */
function countingCodec() {
  const encoded: unknown[] = []
  const codec = {
    encode: (value: unknown) => {
      encoded.push(value)
      return JSON.stringify(value)
    },
    decode: (text: string) => JSON.parse(text),
  }
  return { encoded, codec }
}

describe('commit cost', () => {
  it('encodes each attribute once per commit, for the decision and the write together', async () => {
    const { encoded, codec } = countingCodec()
    const { begin } = setup({ rolling: true }, { codec })
    const created = await begin()
    created.data.profile = { name: 'ada' }
    await created.commit()
    const lifecycle = await begin(created.id)
    ;(lifecycle.data.profile as { name: string }).name = 'grace'
    encoded.length = 0
    const { result } = await lifecycle.commit()
    expect(result).toBe('saved')
    expect(encoded.filter((value) => (value as { name?: string })?.name === 'grace')).toHaveLength(1)
  })
})

describe("preview('end')", () => {
  it('settles a commit that needs no store call at once, and the commit answers the same', async () => {
    const { store, begin } = setup({}, { touchAfterMs: 60_000 })
    const id = await login(begin)
    const calls: string[] = []
    for (const name of ['load', 'save', 'touch', 'delete'] as const) {
      const method = store[name].bind(store) as (...args: unknown[]) => unknown
      ;(store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        calls.push(name)
        return method(...args)
      }
    }
    const lifecycle = await begin(id)
    expect(lifecycle.data.user).toBe('alice')
    const end = lifecycle.preview('end')
    expect(end.outcome).toEqual({ result: 'unchanged', cookie: undefined })
    expect(await lifecycle.commit()).toBe(end.outcome)
    expect(calls).toEqual(['load'])
  })

  it('leaves to the commit what needs the store: a change, a due touch, a queued operation', async () => {
    const { begin } = setup({}, { touchAfterMs: 60_000 })
    const id = await login(begin)
    const changed = await begin(id)
    changed.data.user = 'bob'
    expect(changed.preview('end').outcome).toBeUndefined()
    expect((await changed.commit()).result).toBe('saved')

    const due = await begin(id)
    due.session.lastAccessedAt -= 61_000
    expect(due.preview('end').outcome).toBeUndefined()
    expect((await due.commit()).result).toBe('touched')

    const queued = await begin(id)
    const saving = queued.save()
    expect(queued.preview('end').outcome).toBeUndefined()
    await saving
    queued.data.user = 'carol' // a settled end would answer its outcome and lose this
    expect((await queued.commit()).result).toBe('saved')
  })

  it('an operation after a settled end makes the commit decide again', async () => {
    const { begin } = setup({}, { touchAfterMs: 60_000 })
    const id = await login(begin)
    const lifecycle = await begin(id)
    expect(lifecycle.preview('end').outcome?.result).toBe('unchanged')
    await lifecycle.destroy()
    expect((await lifecycle.commit()).result).toBe('destroyed')
    expect(await (await begin(id)).isNew).toBe(true)
  })
})

describe("preview('end') then commit", () => {
  it('the commit writes the session as it was at the end, encoded once for end, prediction and write', async () => {
    const { encoded, codec } = countingCodec()
    const { begin } = setup({}, { codec })
    const created = await begin()
    created.data.profile = { name: 'ada' }
    await created.commit()
    const lifecycle = await begin(created.id)
    ;(lifecycle.data.profile as { name: string }).name = 'grace'
    encoded.length = 0
    const end = lifecycle.preview('end')
    expect(end.outcome).toBeUndefined()
    // The same decision (its expiry is computed at each call: the clock may tick in between).
    expect({ ...lifecycle.preview().cookie, expires: undefined }).toEqual({
      ...end.cookie,
      expires: undefined,
    })
    ;(lifecycle.data.profile as { name: string }).name = 'after the end'
    expect((await lifecycle.commit()).result).toBe('saved')
    expect(encoded.filter((value) => (value as { name?: string })?.name !== undefined)).toHaveLength(1)
    expect((await begin(created.id)).data.profile).toEqual({ name: 'grace' })
  })

  it('an operation after the end reads the session afresh', async () => {
    const { begin } = setup()
    const id = await login(begin)
    const lifecycle = await begin(id)
    lifecycle.data.step = 1
    expect(lifecycle.preview('end').outcome).toBeUndefined()
    lifecycle.data.step = 2
    await lifecycle.save()
    await lifecycle.commit()
    expect((await begin(id)).data.step).toBe(2)
  })
})

describe('browser-session idle timeout', () => {
  it("defaults to a connect store's own ttl, as the peers leave such sessions to it", () => {
    const sessions = new Map<string, unknown>()
    const connect = {
      ttl: 600,
      get: (sid: string, cb: (err: unknown, s?: unknown) => void) => cb(null, sessions.get(sid) ?? null),
      set: (sid: string, s: unknown, cb: () => void) => {
        sessions.set(sid, s)
        cb()
      },
      destroy: (sid: string, cb: () => void) => {
        sessions.delete(sid)
        cb()
      },
    }
    expect(new SessionManager({ store: connect }).browserSessionTimeoutMs).toBe(600_000)
    expect(new SessionManager({ store: new MemoryStore() }).browserSessionTimeoutMs).toBe(86_400_000)
  })
})

describe('peer writes', () => {
  it('a sessionkit store saves outside the AsyncLocalStorage only connect stores read', async () => {
    const inner = new MemoryStore()
    const seen: unknown[] = []
    const store = Object.assign(Object.create(inner), {
      save(change: Parameters<MemoryStore['save']>[0]) {
        seen.push(peerWrites.getStore())
        return inner.save(change)
      },
    }) as MemoryStore
    const manager = new SessionManager({ store })
    const lifecycle = await manager.begin({ id: undefined, cookie: DEFAULTS, secure: true })
    lifecycle.connectObject = () => ({ ...lifecycle.data })
    lifecycle.data.user = 'alice'
    expect((await lifecycle.commit()).result).toBe('created')
    expect(seen).toEqual([undefined])
  })
})

describe('peer corners', () => {
  /** A connect store that records its calls; `failSet` makes `set` fail. */
  function connectStore() {
    const sessions = new Map<string, unknown>()
    const calls: string[] = []
    const state = { failSet: false }
    const store = {
      get: (sid: string, done: (err: unknown, s?: unknown) => void) => {
        calls.push(`get ${sid}`)
        done(null, sessions.get(sid) ?? null)
      },
      set: (sid: string, s: unknown, done: (err?: unknown) => void) => {
        calls.push(`set ${sid}`)
        if (state.failSet) return done(new Error('set failed'))
        sessions.set(sid, s)
        done()
      },
      destroy: (sid: string, done: (err?: unknown) => void) => {
        calls.push(`destroy ${sid}`)
        sessions.delete(sid)
        done()
      },
    }
    return { store, calls, state }
  }

  it('isConnectDriven: a connect store always; a dual store only while the app replaced a connect method', async () => {
    const { store } = connectStore()
    expect(isConnectDriven(new SessionManager({ store }).repository.store)).toBe(true)
    expect(isConnectDriven(new SessionManager({ store: new MemoryStore() }).repository.store)).toBe(false)
    const dual = Object.assign(new MemoryStore(), {
      get: () => {},
      set: () => {},
      destroy: () => {},
    }) as unknown as MemoryStore & Record<string, unknown>
    // Own properties here stand for methods a class would define: replaced means "own".
    const adapted = new SessionManager({ store: dual }).repository.store
    expect(isConnectDriven(adapted)).toBe(true)
    delete dual.get
    delete dual.set
    delete dual.destroy
    expect(isConnectDriven(adapted)).toBe(false)
  })

  it('destroy of a session never stored reaches a connect store, not a sessionkit store', async () => {
    const { store, calls } = connectStore()
    const manager = new SessionManager({ store })
    const lifecycle = await manager.begin({ id: undefined, cookie: DEFAULTS, secure: true })
    await lifecycle.destroy()
    expect(calls).toEqual([`destroy ${lifecycle.id}`])
    const memory = new MemoryStore()
    let deletes = 0
    const original = memory.delete.bind(memory)
    memory.delete = (id: string) => {
      deletes++
      return original(id)
    }
    const fresh = await new SessionManager({ store: memory }).begin({
      id: undefined,
      cookie: DEFAULTS,
      secure: true,
    })
    await fresh.destroy()
    expect(deletes).toBe(0)
  })

  it('reload of a session never stored asks the store only with lookUpUnsaved', async () => {
    const { store, calls } = connectStore()
    const manager = new SessionManager({ store })
    const lifecycle = await manager.begin({ id: undefined, cookie: DEFAULTS, secure: true })
    expect(await lifecycle.reload()).toBe(false)
    expect(calls).toEqual([])
    expect(await lifecycle.reload({ lookUpUnsaved: true })).toBe(false)
    expect(calls).toEqual([`get ${lifecycle.id}`])
  })

  it('failedSaveCountsAsSaved: a failed save() is not written again unless the data changed', async () => {
    for (const counts of [true, false]) {
      const { store, calls, state } = connectStore()
      const manager = new SessionManager({ store, rules: { failedSaveCountsAsSaved: counts } })
      const lifecycle = await manager.begin({ id: undefined, cookie: DEFAULTS, secure: true })
      lifecycle.data.a = 1
      state.failSet = true
      await expect(lifecycle.save()).rejects.toThrow('set failed')
      const commit = await lifecycle.commit().then(
        (outcome) => outcome.result,
        (err: Error) => err.message,
      )
      expect([commit, calls.filter((c) => c.startsWith('set')).length]).toEqual(
        counts ? ['skipped', 1] : ['set failed', 2],
      )
    }
  })

  it('retries an id collision with the next id from the app generator', async () => {
    const ids = ['taken', 'free']
    const store = new MemoryStore()
    const manager = new SessionManager({ store, genid: () => ids.shift() ?? 'spare' })
    const other = await manager.begin({ id: undefined, cookie: DEFAULTS, secure: true, context: {} })
    expect(other.id).toBe('taken')
    other.data.owner = 'other'
    await other.commit()
    ids.unshift('taken')
    const mine = await manager.begin({ id: undefined, cookie: DEFAULTS, secure: true, context: {} })
    mine.data.owner = 'me'
    const { cookie } = await mine.commit()
    expect(cookie?.action === 'set' && cookie.id).toBe('free')
    expect((await store.load('taken'))!.attributes.owner).toBe('"other"')
  })
})
