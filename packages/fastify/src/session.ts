import type {} from '@fastify/cookie'
import type { CommitResult, Session as CoreSession, SessionRepository, Signer } from '@sessionkit/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { type CookieOptions, persistedCookie, restoredCookieOptions, SessionCookie } from './cookie'

/** Per-plugin settings every session of one registration shares. */
export interface Context {
  repository: SessionRepository
  signer: Signer
  prefix: string
  cookieName: string
  cookie: CookieOptions
  generateId: (request?: FastifyRequest) => string
  rolling: boolean
  saveUninitialized: boolean
}

/**
 * Node-style callback of the session methods.
 *
 * @example
 * ```ts
 * request.session.save((err) => (err ? reply.send(err) : reply.send('saved')))
 * ```
 */
export type SessionCallback<T = void> = (err?: any, value?: T) => void

/** Called by the onSend hook. */
export const kCommit: unique symbol = Symbol('sessionkit.fastify.commit')

/**
 * `request.session`: data as own properties, @fastify/session's methods, and sessionkit's
 * `changeId`, `setPrincipal` and `revokeAll`. A sessionkit `Session` underneath does the
 * change tracking: only changed attributes are written, and nothing deleted meanwhile is
 * brought back.
 *
 * @example
 * ```ts
 * app.post('/login', async (request) => {
 *   await request.session.regenerate()
 *   request.session.userId = user.id
 *   request.session.setPrincipal(user.id)
 * })
 * ```
 */
export class FastifySession {
  [key: string]: unknown
  cookie: SessionCookie
  readonly #ctx: Context
  readonly #request: FastifyRequest
  readonly #core: CoreSession
  #cookieOptions: CookieOptions
  #saved = false
  #touched = false
  #committing: Promise<void> | undefined
  #signed: { id: string; value: string } | undefined

  constructor(ctx: Context, request: FastifyRequest, core: CoreSession, cookieOptions: CookieOptions) {
    this.#ctx = ctx
    this.#request = request
    this.#core = core
    this.#cookieOptions = cookieOptions
    this.cookie = new SessionCookie(cookieOptions, request)
    const data = core.data as Record<string, unknown>
    if (!core.isNew && this.cookie.originalMaxAge != null) this.cookie.expires = new Date(core.expiresAt)
    for (const key of Object.keys(data)) {
      // Never let a stored key shadow a method or throw on a read-only getter.
      if (key !== 'cookie' && !(key in FastifySession.prototype)) this[key] = data[key]
    }
  }

  get sessionId(): string {
    return this.#core.id
  }

  /** The signed id, as it travels in the cookie (without `cookiePrefix`). */
  get encryptedSessionId(): string {
    const id = this.#core.id
    if (this.#signed?.id !== id) this.#signed = { id, value: this.#ctx.signer.sign(id) }
    return this.#signed.value
  }

  get(key: string): unknown {
    return this[key]
  }

  set(key: string, value: unknown): void {
    this[key] = value
  }

  /** Moves the cookie's expiry to now + maxAge; the store's expiry follows at commit. */
  touch(): void {
    if (this.cookie.originalMaxAge) this.cookie.expires = new Date(Date.now() + this.cookie.originalMaxAge)
    this.#touched = true
  }

  /** Cookie options for this session (e.g. `{ maxAge }` in ms for "remember me"). */
  options(options: CookieOptions): void {
    if (Object.keys(options).length === 0) return
    this.#cookieOptions = { ...this.#cookieOptions, ...options }
    this.cookie = new SessionCookie(this.#cookieOptions, this.#request)
  }

  /** New id and empty data, keeping the listed keys; the old session is deleted now. */
  regenerate(keys?: string[] | SessionCallback, callback?: SessionCallback): Promise<void> | undefined {
    if (typeof keys === 'function') [callback, keys] = [keys, undefined]
    const keep = keys
    return settle(async () => {
      const next = createSession(this.#ctx, this.#request, this.#cookieOptions)
      if (Array.isArray(keep)) for (const key of keep) next.set(key, this[key])
      try {
        await this.#end()
      } finally {
        this.#replace(next)
      }
    }, callback)
  }

  /** Replaces `request.session` with what the store holds now. */
  reload(callback?: SessionCallback): Promise<void> | undefined {
    return settle(async () => {
      const ctx = this.#ctx
      const core = this.#core
      const loaded = core.isNew ? undefined : await ctx.repository.load(core.id)
      this.#replace(
        loaded
          ? new FastifySession(
              ctx,
              this.#request,
              loaded,
              restoredCookieOptions(this.#cookieOptions, (loaded.data as { cookie?: unknown }).cookie),
            )
          : core.isNew
            ? new FastifySession(
                ctx,
                this.#request,
                ctx.repository.create({ id: core.id }),
                this.#cookieOptions,
              )
            : // Deleted meanwhile: a fresh id, so a save cannot bring the old one back.
              createSession(ctx, this.#request, this.#cookieOptions, core.id),
      )
    }, callback)
  }

  /** Deletes the session now; `request.session` becomes `null`. */
  destroy(callback?: SessionCallback): Promise<void> | undefined {
    return settle(async () => {
      try {
        await this.#end()
      } finally {
        this.#replace(null)
      }
    }, callback)
  }

  /** Writes the session now (only what changed) and extends its expiry. */
  save(callback?: SessionCallback): Promise<void> | undefined {
    return settle(async () => {
      await this.#commit(true)
    }, callback)
  }

  /** True when data (not the cookie) changed since load or the last save. */
  isModified(): boolean {
    this.#sync()
    return this.#ctx.repository.isModified(this.#core, { ignore: ['cookie'], ignoreTimeout: true })
  }

  isSaved(): boolean {
    return this.#saved
  }

  /** New id, same data (call it at login, against session fixation); the cookie follows. */
  changeId(callback?: SessionCallback): Promise<void> {
    const promise = Promise.resolve().then(() => {
      this.#core.changeId(this.#ctx.generateId(this.#request))
    })
    return settle(() => promise, callback) ?? promise
  }

  /** Names the owner of the session, so `revokeAll` and `destroyAllFor` find it. */
  setPrincipal(principal: string | undefined): void {
    this.#core.setPrincipal(principal)
  }

  /**
   * Deletes every session of this session's principal (the store needs a principal index),
   * this one too unless `exceptCurrent`. Answers how many were deleted.
   */
  revokeAll(
    options: { exceptCurrent?: boolean } | SessionCallback<number> = {},
    callback?: SessionCallback<number>,
  ): Promise<number> {
    if (typeof options === 'function') [callback, options] = [options, {}]
    const exceptCurrent = options.exceptCurrent === true
    const promise = (async () => {
      const principal = this.#core.principal
      const count =
        principal === undefined
          ? 0
          : await this.#ctx.repository.destroyAllFor(
              principal,
              exceptCurrent ? { except: this.#core.id } : {},
            )
      if (!exceptCurrent) await this.destroy()
      return count
    })()
    return settle(() => promise, callback) ?? promise
  }

  /**
   * The onSend half of the lifecycle: @fastify/session's save and cookie rules. Runs once; a
   * second `send()` while the first is still in onSend (a hook that sends without returning
   * the reply, as @fastify/passport's redirects do, lets the handler send again) waits for the
   * same commit, so whichever send writes the response carries the cookie.
   */
  [kCommit](reply: FastifyReply): Promise<void> {
    this.#committing ??= this.#commitTo(reply)
    return this.#committing
  }

  async #commitTo(reply: FastifyReply): Promise<void> {
    const ctx = this.#ctx
    const request = this.#request
    const presented = presentedValue(ctx, request)
    const stale = presented !== this.encryptedSessionId
    const core = this.#core
    const save = core.isNew
      ? ctx.saveUninitialized || this.isModified() || core.principal !== undefined
      : ctx.rolling || stale || this.#dirty()
    const clear = () =>
      reply.clearCookie(ctx.cookieName, { domain: ctx.cookie.domain, path: ctx.cookie.path || '/' })
    if (!save || (this.cookie.secure === true && request.protocol !== 'https')) {
      if (presented && stale) clear()
      if (this.#saved) this.#setCookie(reply)
      return
    }
    const result = await this.#commit(this.#touched)
    if (result === 'gone' || result === 'destroyed') {
      if (presented) clear()
      return
    }
    this.#setCookie(reply)
  }

  /** Regenerate and reload replace `request.session`; destroy clears it. */
  #replace(session: FastifySession | null): void {
    ;(this.#request as unknown as { session: unknown }).session = session
  }

  #setCookie(reply: FastifyReply): void {
    reply.setCookie(
      this.#ctx.cookieName,
      this.#ctx.prefix + this.encryptedSessionId,
      this.cookie.toJSON() as any,
    )
  }

  async #commit(force: boolean): Promise<CommitResult> {
    const core = this.#core
    this.#sync()
    const result = await this.#ctx.repository.save(core, { saveUninitialized: true, force })
    if (result === 'gone' || result === 'destroyed') return result
    this.#saved = true
    if (this.cookie.originalMaxAge != null) this.cookie.expires = new Date(core.expiresAt)
    return result
  }

  /** True when a commit would write something, cookie settings included. */
  #dirty(): boolean {
    this.#sync()
    return this.#ctx.repository.isModified(this.#core)
  }

  async #end(): Promise<void> {
    this.#core.destroy()
    await this.#ctx.repository.save(this.#core)
  }

  /** Copies the data and the cookie settings into the core session. */
  #sync(): void {
    const data: Record<string, unknown> = {}
    for (const key of Object.keys(this)) if (key !== 'cookie') data[key] = this[key]
    const cookie = persistedCookie(this.cookie, new SessionCookie(this.#ctx.cookie, this.#request))
    if (cookie !== undefined) data.cookie = cookie
    this.#core.data = data
    const maxAge = this.cookie.originalMaxAge
    // A browser-session cookie still needs a server-side idle timeout: the repository's default.
    this.#core.maxInactiveMs = maxAge != null && maxAge > 0 ? maxAge : this.#ctx.repository.maxInactiveMs
  }
}

/** A new, unsaved session. */
export function createSession(
  ctx: Context,
  request: FastifyRequest,
  cookieOptions: CookieOptions,
  requestedId?: string,
): FastifySession {
  const core = ctx.repository.create({ id: ctx.generateId(request), requestedId })
  return new FastifySession(ctx, request, core, { ...cookieOptions })
}

/** The cookie's value without `cookiePrefix`, as @fastify/session reads it. */
export function presentedValue(ctx: Context, request: FastifyRequest): string | undefined {
  const raw = (request as { cookies?: Record<string, string | undefined> }).cookies?.[ctx.cookieName]
  if (!raw || !ctx.prefix) return raw || undefined
  return raw.startsWith(ctx.prefix) ? raw.slice(ctx.prefix.length) || undefined : undefined
}

/** Runs `work`; with a callback, reports to it and answers `undefined`, as the peer does. */
function settle<T>(work: () => Promise<T>, callback?: SessionCallback<T>): Promise<T> | undefined {
  const promise = work()
  if (!callback) return promise
  promise.then(
    (value) => (value === undefined ? callback() : callback(undefined, value)),
    (err) => callback(err),
  )
  return undefined
}
