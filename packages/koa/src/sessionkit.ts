import { type Session as CoreSession, SessionRepository, type SessionStore } from '@sessionkit/core'
import type { RequestSession } from './classic'
import { IdCarrier } from './id-cookie'
import type { AnyContext, ResolvedOptions } from './options'
import { type CommitRequest, Session, type SessionHost, type SessionkitFeatures } from './session'

const DAY = 86_400_000
/** The attribute Express and Fastify keep their per-session cookie settings in. */
const COOKIE_ATTRIBUTE = 'cookie'
// Printable ASCII a cookie value and a store key both carry as is: koa-session's `prefix`
// (`koa:sess:`) and custom `genid`s fit, hostile cookies do not reach the store.
const ID_PATTERN = /^[!#-+\--:<-[\]-~]{1,256}$/

/** What every request of one middleware shares in store mode on a sessionkit store. */
export class SessionkitMode {
  readonly repository: SessionRepository
  readonly carrier: IdCarrier

  constructor(
    readonly options: ResolvedOptions,
    app: { keys?: unknown },
  ) {
    this.repository = new SessionRepository({
      store: options.store as SessionStore,
      maxInactiveMs: typeof options.maxAge === 'number' && options.maxAge > 0 ? options.maxAge : DAY,
      absoluteTimeoutMs: options.absoluteTimeout,
      // koa-session extends a session only by saving it and re-sending the cookie (rolling,
      // renew): a silent touch would outlive the cookie's Expires, so there is none by default.
      touchAfterMs: options.touchAfter ?? Number.POSITIVE_INFINITY,
      maxSizeBytes: options.maxSizeBytes,
      codec: options.codec,
      generateId: () => options.genid(undefined),
      validateId: (id) => ID_PATTERN.test(id),
    })
    this.carrier = new IdCarrier(options, app)
  }

  open(ctx: AnyContext): RequestSession {
    return new SessionkitSession(ctx, this)
  }
}

/**
 * One request in store mode on a sessionkit store: koa-session's load, save and cookie rules,
 * with the session kept in a core session, so saves are attribute deltas, a logout elsewhere
 * is never undone, and ids rotate safely.
 */
export class SessionkitSession implements RequestSession, SessionHost {
  readonly options: ResolvedOptions
  session: Session | false | undefined
  core: CoreSession | undefined
  #loaded: string | undefined
  #forceSave = false
  reportedKey: string | undefined
  /** Attributes of another framework (its cookie settings), kept but not shown as data. */
  #hidden: Record<string, unknown> = {}

  constructor(
    readonly ctx: AnyContext,
    readonly mode: SessionkitMode,
  ) {
    this.options = { ...mode.options }
  }

  get sessionkit(): SessionkitFeatures {
    return features(this)
  }

  /** As koa-session's, the key the session was made with; `changeId()` moves it on. */
  get currentKey(): string | undefined {
    return this.reportedKey
  }

  get(): Session | null {
    if (this.session) return this.session
    if (this.session === false) return null
    return this.#create()
  }

  set(value: unknown): void {
    if (value === null) {
      this.session = false
      return
    }
    if (typeof value !== 'object') throw new Error('this.session can only be set as null or an object.')
    this.#create(value as Record<string, unknown>, this.core)
  }

  async load(): Promise<void> {
    const { ctx, options, mode } = this
    const id = mode.carrier.read(ctx, options)
    if (!id) {
      this.#create()
      return
    }
    const migrated = mode.carrier.expressForm || options.externalKey ? undefined : this.#cookieModeData(id)
    if (migrated !== undefined) {
      if (migrated) this.#migrate(migrated)
      else this.#create()
      return
    }
    const core = await this.#loadCore(id)
    if (!core) {
      this.#create()
      return
    }
    const data = { ...(core.data as Record<string, unknown>) }
    if (mode.carrier.expressForm && COOKIE_ATTRIBUTE in data) {
      this.#hidden[COOKIE_ATTRIBUTE] = data[COOKIE_ATTRIBUTE]
      delete data[COOKIE_ATTRIBUTE]
    }
    const peerView = { ...data, _expire: core.expiresAt, _maxAge: core.maxInactiveMs }
    if (!this.#accept(peerView, id)) {
      this.#create()
      return
    }
    const session = this.#create(data, core)
    session._expire = core.expiresAt
    // As koa-session restores `_maxAge`: the session's own lifetime, from now on in the cookie too.
    if (options.maxAge !== 'session') options.maxAge = core.maxInactiveMs
    this.#loaded = JSON.stringify(session.toJSON())
  }

  async #loadCore(id: string): Promise<CoreSession | undefined> {
    const repository = this.mode.repository
    let expired = false
    const onExpired = (expiredId: string) => {
      if (expiredId === id) expired = true
    }
    repository.on('expired', onExpired)
    try {
      const core = await repository.load(id)
      if (!core) this.#emit(expired ? 'expired' : 'missed', { key: id, value: undefined, ctx: this.ctx })
      return core
    } finally {
      repository.off('expired', onExpired)
    }
  }

  /**
   * A koa-session cookie-mode value (base64 JSON, already signature-checked by `ctx.cookies`):
   * its data when live (null when expired or refused), undefined when the value is an id.
   */
  #cookieModeData(value: string): Record<string, unknown> | null | undefined {
    let data: unknown
    try {
      data = this.options.decode(value)
    } catch {
      return undefined
    }
    if (!data || typeof data !== 'object' || Array.isArray(data)) return undefined
    return this.#accept(data as Record<string, unknown>) ? (data as Record<string, unknown>) : null
  }

  /** Moving from cookie mode: the data comes along into a new stored session at this commit. */
  #migrate(data: Record<string, unknown>): void {
    const session = this.#create(data)
    session._expire = data._expire as number | undefined
    this.#forceSave = true
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

  /** A new `ctx.session` over `core` (a new core session when absent). */
  #create(data?: Record<string, unknown>, core?: CoreSession): Session {
    this.core = core ?? this.mode.repository.create({ id: this.options.genid(this.ctx) })
    this.reportedKey = this.core.id
    this.session = new Session(this, data, this.core.id)
    return this.session
  }

  async commit({ save = false, regenerate = false }: CommitRequest = {}): Promise<void> {
    const { ctx, options, mode } = this
    const session = this.session
    const core = this.core
    if (session === undefined || !core) return
    if (session === false) {
      core.destroy()
      await mode.repository.save(core)
      mode.carrier.clear(ctx, options)
      return
    }
    if (regenerate) core.changeId(options.genid(ctx))
    const forced = save || regenerate || session._requireSave || this.#forceSave
    const reason = forced ? 'force' : this.#saveReason(session)
    if (reason) options.beforeSave?.(ctx, session)
    this.#sync(session, core)
    const result = await mode.repository.save(core, { force: reason !== '' && reason !== 'changed' })
    this.#forceSave = false
    if (result === 'created' || result === 'saved' || (result === 'touched' && reason)) {
      mode.carrier.write(ctx, options, core.id)
      // koa-session forgets a browser-session lifetime once saved (`ctx.session.maxAge` reads undefined).
      if (options.maxAge === 'session') options.maxAge = undefined
    }
    if (result !== 'gone') this.#loaded = JSON.stringify(session.toJSON())
  }

  /** koa-session's reasons to save and re-send the cookie. */
  #saveReason(session: Session): '' | 'changed' | 'rolling' | 'renew' {
    const json = JSON.stringify(session.toJSON())
    if (this.#loaded === undefined && json === '{}') return ''
    if (this.#loaded !== json) return 'changed'
    if (this.options.rolling) return 'rolling'
    const maxAge = session.maxAge
    if (this.options.renew && session._expire && typeof maxAge === 'number' && maxAge) {
      if (session._expire - Date.now() < maxAge / 2) return 'renew'
    }
    return ''
  }

  /** `ctx.session`'s data and lifetime into the core session, where the delta is computed. */
  #sync(session: Session, core: CoreSession): void {
    core.data = { ...session.toJSON(), ...this.#hidden }
    const maxAge = this.options.maxAge
    core.maxInactiveMs =
      typeof maxAge === 'number' && maxAge > 0 ? maxAge : this.mode.repository.maxInactiveMs
  }
}

function features(request: SessionkitSession): SessionkitFeatures {
  return {
    async changeId() {
      const core = request.core!
      core.changeId(request.options.genid(request.ctx))
      request.reportedKey = core.id
      return core.id
    },
    setPrincipal(principal) {
      request.core!.setPrincipal(principal)
    },
    get principal() {
      return request.core?.principal
    },
    async revokeAll(options = {}) {
      const core = request.core!
      if (core.principal === undefined) return 0
      const except = options.exceptCurrent ? core.storedId : undefined
      return request.mode.repository.destroyAllFor(core.principal, { except })
    },
  }
}
