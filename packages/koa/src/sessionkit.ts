import { isSecure, RequestLifecycle } from '@sessionkit/core'
import type { RequestSession } from './classic'
import { cookieModeData } from './codec'
import { type AnyContext, DAY, originalMaxAge, type ResolvedOptions } from './options'
import { type CommitRequest, Session, type SessionHost, type SessionkitFeatures } from './session'
import type { SessionkitMode } from './sessionkit-mode'

/**
 * One request in store mode on a sessionkit store: koa-session's surface over core's request
 * lifecycle, so saves are attribute deltas, a logout elsewhere is never undone, ids rotate
 * safely and the cookie's settings are shared with Express and Fastify apps.
 */
export class SessionkitSession implements RequestSession, SessionHost {
  readonly options: ResolvedOptions
  session: Session | false | undefined
  lifecycle: RequestLifecycle | undefined
  /** The key `ctx.session.externalKey` reports: the one it was made with, until `changeId()`. */
  reportedKey: string | undefined
  /** A koa-session cookie-mode session as read: it stays in the cookie until a request changes it. */
  #inCookie: { data: string; id: string } | undefined

  constructor(
    readonly ctx: AnyContext,
    readonly mode: SessionkitMode,
  ) {
    this.options = { ...mode.options }
  }

  get sessionkit(): SessionkitFeatures {
    return features(this)
  }

  get currentKey(): string | undefined {
    return this.reportedKey
  }

  get(): Session | null {
    if (this.session) return this.session
    if (this.session === false) return null
    this.#fresh()
    return this.#create()
  }

  set(value: unknown): void {
    if (value === null) {
      this.session = false
      return
    }
    if (typeof value !== 'object') throw new Error('this.session can only be set as null or an object.')
    if (!this.lifecycle) this.#fresh()
    this.#create(value as Record<string, unknown>)
  }

  async load(): Promise<void> {
    const { ctx, options, mode } = this
    const { id, resign } = mode.carrier.read(ctx, options)
    // Only a value whose `.sig` Koa verified may become data: with `signed: false` anyone can
    // write any value, and koa-session in store mode never decodes its key either.
    const verified = options.signed && !mode.carrier.expressForm && !options.externalKey
    const cookieData = id && verified ? this.#cookieModeData(id) : undefined
    if (cookieData !== undefined) {
      mode.counts.cookieSessions++
      // Moving from cookie mode: the data comes along into a new stored session (new id) at commit.
      this.#fresh()
      const session = this.#create(cookieData ?? undefined)
      if (cookieData) {
        session._expire = cookieData._expire as number | undefined
        this.#inCookie = { data: JSON.stringify(session.toJSON()), id: this.lifecycle!.id }
      }
      return
    }
    const lifecycle = id ? await this.#begin(id, resign) : this.#fresh()
    if (lifecycle.isNew) {
      this.#create()
      return
    }
    const data = lifecycle.data
    if (
      !this.#accept(
        { ...data, _expire: lifecycle.session.expiresAt, _maxAge: lifecycle.session.maxInactiveMs },
        id,
      )
    ) {
      this.#fresh()
      this.#create()
      return
    }
    // As koa-session restores `_maxAge`: the session's own lifetime, from now on in the cookie too.
    const stored = lifecycle.cookie.originalMaxAge
    if (stored !== null) options.maxAge = stored
    else if (options.maxAge === undefined && !mode.carrier.expressForm) {
      options.maxAge = DAY
      // What the session was stored with as koa-session reads it: not a change to write.
      lifecycle.assumeStoredCookie({ ...lifecycle.cookie, originalMaxAge: DAY })
    }
    mode.counts.storeSessions++
    const session = this.#create(data)
    session._expire = lifecycle.session.expiresAt
  }

  /** Loads the session `id` names; a miss emits koa-session's `missed` (or `expired`). */
  async #begin(id: string, resign: boolean): Promise<RequestLifecycle> {
    const { manager, defaults } = this.mode
    let expired = false
    const onExpired = (expiredId: string) => {
      if (expiredId === id) expired = true
    }
    manager.repository.on('expired', onExpired)
    try {
      this.lifecycle = await manager.begin({
        id,
        cookie: defaults,
        secure: this.#secure(),
        context: this.ctx,
        resign,
      })
    } finally {
      manager.repository.off('expired', onExpired)
    }
    if (this.lifecycle.isNew)
      this.#emit(expired ? 'expired' : 'missed', { key: id, value: undefined, ctx: this.ctx })
    return this.lifecycle
  }

  /** A new session for this request, not loaded from anywhere. */
  #fresh(): RequestLifecycle {
    const input = { id: undefined, cookie: this.mode.defaults, secure: this.#secure(), context: this.ctx }
    this.lifecycle = new RequestLifecycle(this.mode.manager, input, undefined)
    return this.lifecycle
  }

  #secure(): boolean {
    return isSecure(
      { encrypted: this.ctx.req?.socket?.encrypted, framework: this.ctx.secure === true },
      undefined,
    )
  }

  /**
   * A koa-session cookie-mode value (base64 JSON, its signature checked by `ctx.cookies`):
   * its data when live (null when expired or refused), undefined when the value is an id.
   */
  #cookieModeData(value: string): Record<string, unknown> | null | undefined {
    const data = cookieModeData(value, this.options.decode)
    if (data === undefined) return undefined
    return this.#accept(data) ? data : null
  }

  #accept(data: Record<string, unknown>, key?: string): boolean {
    const ctx = this.ctx
    if (typeof data._expire === 'number' && data._expire < Date.now()) {
      return this.#emit('expired', { key, value: data, ctx })
    }
    const valid = this.options.valid
    if (typeof valid === 'function' && !valid(ctx, data))
      return this.#emit('invalid', { key, value: data, ctx })
    return true
  }

  #emit(event: string, payload: object): false {
    setImmediate(() => this.ctx.app.emit(`session:${event}`, payload))
    return false
  }

  /** A new `ctx.session` over the current lifecycle, which reads it at every decision. */
  #create(data?: Record<string, unknown>): Session {
    const lifecycle = this.lifecycle!
    this.reportedKey = lifecycle.id
    const session = new Session(this, data, lifecycle.id)
    this.session = session
    lifecycle.snapshot = () => ({
      data: session.toJSON(),
      cookie: { ...lifecycle.cookie, originalMaxAge: originalMaxAge(this.options.maxAge) },
    })
    return session
  }

  /**
   * A cookie-mode session that this request only read stays in the cookie, as koa-session
   * would leave it (no Set-Cookie): moving it on a read would replace the cookie under a
   * concurrent request that writes, and that write would be lost.
   */
  #staysInCookie(session: Session): boolean {
    const before = this.#inCookie
    if (!before || this.lifecycle!.id !== before.id || this.lifecycle!.session.principal !== undefined)
      return false
    const { rolling, renew, maxAge } = this.options
    if (rolling) return false
    const expire = session._expire
    if (renew && expire && typeof maxAge === 'number' && maxAge && expire - Date.now() < maxAge / 2)
      return false
    return JSON.stringify(session.toJSON()) === before.data
  }

  async commit({ save = false, regenerate = false }: CommitRequest = {}): Promise<void> {
    const { ctx, options, mode } = this
    const session = this.session
    const lifecycle = this.lifecycle
    if (session === undefined || !lifecycle) return
    if (session === false) {
      await lifecycle.destroy()
      await lifecycle.commit()
      mode.carrier.clear(ctx, options)
      return
    }
    if (regenerate) {
      // As koa-session removes the old session: its cookie is cleared first (also with
      // `externalKey`; Koa refuses a Secure one over HTTP before the id changes), and the new
      // one's, set below, replaces the clearing unless `overwrite` is false.
      mode.carrier.clear(ctx, options)
      lifecycle.changeId()
    }
    const forced = save || regenerate || session._requireSave
    if (!forced && this.#staysInCookie(session)) return
    // koa-session calls `beforeSave` only when it is about to save.
    if (options.beforeSave && (forced || writes(lifecycle))) options.beforeSave(ctx, session)
    if (forced) await lifecycle.save()
    // Settled at once when the commit needs no store call (a read-only request, mostly).
    const { cookie } = (!forced && lifecycle.preview('end').outcome) || (await lifecycle.commit())
    if (cookie?.action === 'set') {
      if (this.#inCookie) mode.counts.moved++
      this.#inCookie = undefined
      mode.carrier.write(ctx, options, cookie.value ?? cookie.id, cookie.attributes, cookie.expires)
      // koa-session forgets a browser-session lifetime once saved (`ctx.session.maxAge` reads undefined).
      if (options.maxAge === 'session') options.maxAge = undefined
    } else if (cookie?.action === 'clear') {
      mode.carrier.clear(ctx, options)
    }
  }
}

function features(request: SessionkitSession): SessionkitFeatures {
  return {
    async changeId() {
      request.get()
      const id = request.lifecycle!.changeId()
      request.reportedKey = id
      return id
    },
    setPrincipal(principal) {
      request.get()
      request.lifecycle!.session.setPrincipal(principal)
    },
    get principal() {
      return request.lifecycle?.session.principal
    },
    revokeAll(options = {}) {
      request.get()
      return request.lifecycle!.revokeAll(options)
    },
  }
}

/** koa-session calls `beforeSave` only before a write: the commit's plan writes, for a change or by its rules. */
function writes(lifecycle: RequestLifecycle): boolean {
  const plan = lifecycle.preview().plan
  return plan?.store === 'write' && (plan.force || lifecycle.isModified())
}
