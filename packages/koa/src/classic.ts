import { type AnyContext, DAY, type ExternalStore, type ResolvedOptions } from './options'
import { type CommitRequest, Session, type SessionHost } from './session'
import { readCookie } from './signed-cookie'

/** A store keeps a session this much longer than its cookie lives, as koa-session does. */
const STORE_GRACE_MS = 10_000
const EPOCH = new Date(0)

/** The parts of a request's session state that the middleware and `ctx.session` share. */
export interface RequestSession {
  readonly options: ResolvedOptions
  /** `ctx.session` (get). */
  get(): Session | null
  /** `ctx.session = value`. */
  set(value: unknown): void
  /** Loads before downstream middleware runs (store modes). */
  load(): Promise<void>
  commit(request?: CommitRequest): Promise<void>
}

/**
 * koa-session's two classic modes for one request: the whole session in the cookie (no
 * store), or a koa-session store (`{ get, set, destroy }` or `ContextStore`) called exactly
 * where and how koa-session calls it. There is nothing to share with core here: the data
 * format, the save rules and the store calls are the peer's, byte for byte.
 */
export class ClassicSession implements RequestSession, SessionHost {
  readonly options: ResolvedOptions
  readonly store: ExternalStore | undefined
  /** undefined: never accessed; false: set to null; else the session. */
  session: Session | false | undefined
  externalKey: string | undefined
  /** JSON of the data as loaded; undefined for a new session. */
  #loaded: string | undefined

  /** Cookie mode whatever `options.store` holds; `'fresh'`: the cookie's value is not read either. */
  readonly #cookie: 'read' | 'fresh' | undefined

  constructor(
    readonly ctx: AnyContext,
    options: ResolvedOptions,
    cookieMode?: 'read' | 'fresh',
  ) {
    this.options = { ...options }
    this.#cookie = cookieMode
    this.store = cookieMode
      ? undefined
      : options.ContextStore
        ? new options.ContextStore(ctx)
        : (options.store as ExternalStore | undefined)
  }

  get(): Session | null {
    if (this.session) return this.session
    if (this.session === false) return null
    return this.store || this.#cookie === 'fresh' ? this.#create() : this.#readCookie()
  }

  set(value: unknown): void {
    if (value === null) {
      this.session = false
      return
    }
    if (typeof value === 'object') {
      // The same key, so the store holds one record rather than an orphan.
      this.#create(value as Record<string, unknown>, this.externalKey)
      return
    }
    throw new Error('this.session can only be set as null or an object.')
  }

  async load(): Promise<void> {
    if (!this.store) return
    const { ctx, options } = this
    const key = options.externalKey ? options.externalKey.get(ctx) : readCookie(ctx, options.key, options)
    if (!key) {
      this.#create()
      return
    }
    const data = await this.store.get(key, options.maxAge, { ctx, rolling: options.rolling as boolean })
    if (!this.#accept(data as Record<string, unknown> | undefined, key)) {
      this.#create()
      return
    }
    this.#loaded = JSON.stringify(this.#create(data as Record<string, unknown>, key).toJSON())
  }

  #readCookie(): Session {
    const { ctx, options } = this
    const value = readCookie(ctx, options.key, options)
    if (!value) return this.#create()
    let data: Record<string, unknown>
    try {
      data = options.decode(value)
    } catch (err) {
      // Unparsable JSON is no session; any other decode failure is the app's error, with the
      // cookie cleared so that the next request does not fail again.
      if (err instanceof Error && !(err instanceof SyntaxError)) {
        ctx.cookies.set(options.key, '', options)
        Reflect.set(err, 'headers', { 'set-cookie': ctx.response.get('set-cookie') })
        throw err
      }
      return this.#create()
    }
    if (!this.#accept(data)) return this.#create()
    const session = this.#create(data)
    this.#loaded = JSON.stringify(session.toJSON())
    return session
  }

  /** Absent, expired or refused by `valid`: emits koa-session's event and answers false. */
  #accept(data: Record<string, unknown> | undefined | null, key?: string): boolean {
    const ctx = this.ctx
    if (!data) return this.#emit('missed', { key, value: data, ctx })
    if (typeof data._expire === 'number' && data._expire < Date.now()) {
      return this.#emit('expired', { key, value: data, ctx })
    }
    const valid = this.options.valid
    if (typeof valid === 'function' && !valid(ctx, data)) {
      return this.#emit('invalid', { key, value: data, ctx })
    }
    return true
  }

  #emit(event: string, payload: object): false {
    setImmediate(() => this.ctx.app.emit(`session:${event}`, payload))
    return false
  }

  #create(data?: Record<string, unknown>, key?: string): Session {
    if (this.store) this.externalKey = key ?? this.options.genid(this.ctx)
    this.session = new Session(this, data, this.externalKey)
    return this.session
  }

  async commit({ save = false, regenerate = false }: CommitRequest = {}): Promise<void> {
    const session = this.session
    if (session === undefined) return
    if (session === false) {
      await this.#remove()
      return
    }
    if (regenerate) {
      await this.#remove()
      if (this.store) this.externalKey = this.options.genid(this.ctx)
    }
    const reason = save || regenerate || session._requireSave ? 'force' : this.#saveReason(session)
    if (!reason) return
    this.options.beforeSave?.(this.ctx, session)
    await this.#save(reason === 'changed')
  }

  /** koa-session's rules: changed data, else `rolling`, else `renew` in the second half of life. */
  #saveReason(session: Session): '' | 'changed' | 'rolling' | 'renew' {
    const data = session.toJSON()
    if (this.#loaded === undefined && Object.keys(data).length === 0) return ''
    if (this.#loaded !== JSON.stringify(data)) return 'changed'
    if (this.options.rolling) return 'rolling'
    if (this.options.renew) {
      const expire = session._expire
      const maxAge = session.maxAge
      if (expire && typeof maxAge === 'number' && maxAge && expire - Date.now() < maxAge / 2) return 'renew'
    }
    return ''
  }

  async #remove(): Promise<void> {
    const { ctx, options } = this
    if (this.externalKey) await this.store!.destroy(this.externalKey, { ctx })
    ctx.cookies.set(options.key, '', { ...options, expires: EPOCH, maxAge: false })
  }

  async #save(changed: boolean): Promise<void> {
    const { ctx, options } = this
    const data = (this.session as Session).toJSON()
    let maxAge: number | 'session' = options.maxAge ? options.maxAge : DAY
    if (maxAge === 'session') {
      // A browser-session cookie: no Expires, and the data says so instead of `_expire`.
      options.maxAge = undefined
      data._session = true
    } else {
      data._expire = Date.now() + maxAge
      data._maxAge = maxAge
    }
    const key = this.externalKey
    if (key) {
      if (typeof maxAge === 'number') maxAge += STORE_GRACE_MS
      await this.store!.set(key, data, maxAge, { changed, ctx, rolling: options.rolling as boolean })
      if (options.externalKey) options.externalKey.set(ctx, key)
      else ctx.cookies.set(options.key, key, options)
      return
    }
    ctx.cookies.set(options.key, options.encode(data), options)
  }
}
