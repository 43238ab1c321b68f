import type {} from '@fastify/cookie'
import {
  type CallbackStore,
  type CommitOutcome,
  type CookieInstruction,
  type CookieSettings,
  settle as coreSettle,
  type RequestLifecycle,
  type SessionManager,
  type Signer,
} from '@sessionkit/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { type CookieOptions, cookieFromSettings, settingsOf } from './cookie'
import { FixedExpiry } from './fixed-expiry'

/** Per-plugin settings every session of one registration shares. */
export interface Context {
  manager: SessionManager
  signer: Signer
  prefix: string
  cookieName: string
  /** The plugin's `cookie` option, with @fastify/session's defaults. */
  cookie: CookieOptions
  /** The app's callback store (not a sessionkit one), for the calls the peer makes directly. */
  callbackStore: CallbackStore | undefined
  /** The `rolling` option: the cookie goes out on every response, as the peer sends it. */
  rolling: boolean
  /**
   * What `destroy` and `regenerate` call back with on success: the peer passes on the store's
   * own callback argument, `undefined` from its MemoryStore, usually `null` from a callback store.
   */
  storeSuccess: null | undefined
}

/**
 * Node-style callback of the session methods: `null` on success, as @fastify/session gives.
 *
 * @example
 * ```ts
 * request.session.save((err) => (err ? reply.send(err) : reply.send('saved')))
 * ```
 */
export type SessionCallback<T = void> = (err?: any, value?: T) => void

/** Called by the onSend hook. */
export const kCommit: unique symbol = Symbol('sessionkit.fastify.commit')
/** A loaded session whose fixed `expires` has passed (see {@link FixedExpiry}). */
export const kExpiredOnLoad: unique symbol = Symbol('sessionkit.fastify.expiredOnLoad')
/** Commits at once when that needs no store call; answers whether it did (see core's `preview('end')`). */
export const kCommitNow: unique symbol = Symbol('sessionkit.fastify.commitNow')
/** onSend after `destroy()`: a sealed session's cookie is cleared (the cookie is the session). */
export const kDestroyedCookie: unique symbol = Symbol('sessionkit.fastify.destroyedCookie')

/**
 * `request.session`: data as own properties, @fastify/session's methods, and sessionkit's
 * `changeId`, `setPrincipal` and `revokeAll`. Core's request lifecycle underneath decides
 * what is written and which cookie is sent, under @fastify/session's rules: only changed
 * attributes are written, and nothing deleted meanwhile is brought back.
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
  /** This session's cookie (`maxAge`, `expires`, `httpOnly`, ...): change it here for this session only. */
  cookie: SessionCookieLike
  readonly #ctx: Context
  readonly #request: FastifyRequest
  readonly #lifecycle: RequestLifecycle
  #saved = false
  /**
   * The peer's cookie options of this session: the plugin's (or `decryptSession`'s), the
   * stored cookie of a loaded session, and `options()` calls. `regenerate()` keeps them.
   */
  #cookieOptions: CookieSettings
  /** The plugin's (or `decryptSession`'s) fixed `expires`, and its hold on this session. */
  readonly #fixedDate: number | undefined
  readonly #fixed: FixedExpiry | undefined
  #committing: Promise<void> | undefined
  #signed: { id: string; value: string } | undefined

  constructor(ctx: Context, request: FastifyRequest, lifecycle: RequestLifecycle, fixedDate?: number) {
    this.#ctx = ctx
    this.#request = request
    this.#lifecycle = lifecycle
    const expiresAt = lifecycle.isNew ? undefined : lifecycle.session.expiresAt
    this.#cookieOptions = lifecycle.cookie
    this.cookie = cookieFromSettings(lifecycle.cookie, request, expiresAt)
    this.#fixedDate = fixedDate
    this.#fixed = FixedExpiry.of(fixedDate, lifecycle)
    this.#fixed?.hold(this.cookie)
    const data = lifecycle.data
    // Keys, not entries: no [key, value] pair allocated per attribute.
    for (const key of Object.keys(data)) {
      // Never let a stored key shadow a method or throw on a read-only getter.
      if (key !== 'cookie' && !(key in FastifySession.prototype)) this[key] = data[key]
    }
    // What @fastify/session hands a callback store's `set`: the session's data and `cookie`.
    lifecycle.connectObject = () => {
      const object: Record<string, unknown> = {}
      for (const key of Object.keys(this)) object[key] = key === 'cookie' ? this.cookie.toJSON() : this[key]
      return object
    }
    // The session itself, not a copy of its data: core never reads its `cookie` key as data.
    lifecycle.snapshot = () => ({
      data: this,
      cookie: settingsOf(this.cookie, lifecycle.defaults, lifecycle.secure),
    })
  }

  /** The session's id (unsigned); changes on `regenerate()` and `changeId()`. */
  get sessionId(): string {
    return this.#lifecycle.id
  }

  /** The signed id, as it travels in the cookie (without `cookiePrefix`). */
  get encryptedSessionId(): string {
    const id = this.#lifecycle.id
    if (this.#signed?.id !== id) this.#signed = { id, value: this.#ctx.signer.sign(id) }
    return this.#signed.value
  }

  /** Reads one data key (the same as `request.session[key]`). */
  get(key: string): unknown {
    return this[key]
  }

  /** Sets one data key (the same as assigning `request.session[key]`). */
  set(key: string, value: unknown): void {
    this[key] = value
  }

  /** Moves the cookie's expiry to now + maxAge; a sessionkit store's expiry follows at commit. */
  touch(): void {
    if (this.cookie.originalMaxAge) this.cookie.expires = new Date(Date.now() + this.cookie.originalMaxAge)
    this.#fixed?.hold(this.cookie)
    // A callback store gets the peer's calls (none for a touch); a sessionkit store's expiry
    // is extended at commit too.
    if (!this.#ctx.callbackStore) this.#lifecycle.touch()
  }

  /** Cookie options for this session (e.g. `{ maxAge }` in ms for "remember me"). */
  options(options: CookieOptions): void {
    if (Object.keys(options).length === 0) return
    const current = settingsOf(this.cookie, this.#lifecycle.defaults, this.#lifecycle.secure)
    const { maxAge, expires, ...rest } = options
    const next: CookieSettings = { ...current, ...(rest as Partial<CookieSettings>) }
    if (maxAge !== undefined) next.originalMaxAge = maxAge
    else if (expires && (current.originalMaxAge === null || this.#fixed?.holds(this.cookie))) {
      // As the peer's, a date counts where the session has no maxAge of its own; core keeps
      // lifetimes, so it becomes the time left until then (README).
      const date = new Date(expires).getTime()
      if (!Number.isNaN(date)) next.originalMaxAge = Math.max(1, date - Date.now())
    }
    this.#cookieOptions = next
    this.cookie = cookieFromSettings(next, this.#request, undefined)
    this.#fixed?.hold(this.cookie)
  }

  /** New id and empty data, keeping the listed keys; the old session is deleted now. */
  regenerate(keys?: string[] | SessionCallback, callback?: SessionCallback): Promise<void> | undefined {
    if (typeof keys === 'function') [callback, keys] = [keys, undefined]
    const keep = Array.isArray(keys) ? keys.map((key) => [key, this[key]] as const) : []
    return settle(
      this.#ctx.storeSuccess,
      async () => {
        const unsaved = this.#lifecycle.isNew ? this.#lifecycle.id : undefined
        let next: FastifySession
        const cookieOptions = this.#cookieOptions
        const before = this.#lifecycle.id
        try {
          await this.#lifecycle.regenerate()
        } finally {
          // As the peer's new Session made from this one's cookie options, not the plugin's.
          if (this.#lifecycle.id !== before) this.#lifecycle.cookie = cookieOptions
          next = this.#replace()
          for (const [key, value] of keep) next.set(key, value)
        }
        const store = this.#ctx.callbackStore
        if (store) await regenerateInCallbackStore(store, unsaved, next)
      },
      callback,
    )
  }

  /** Replaces `request.session` with what the store holds now. */
  reload(callback?: SessionCallback): Promise<void> | undefined {
    return settle(
      null,
      async () => {
        const lifecycle = this.#lifecycle
        const wasNew = lifecycle.isNew
        if (!(await lifecycle.reload({ lookUpUnsaved: true }))) {
          if (wasNew) lifecycle.data = {}
          // Deleted meanwhile: a fresh id, so a save cannot bring the old one back.
          else await lifecycle.regenerate()
        }
        this.#replace()
      },
      callback,
    )
  }

  /** Deletes the session now; `request.session` becomes `null`. */
  destroy(callback?: SessionCallback): Promise<void> | undefined {
    return settle(
      this.#ctx.storeSuccess,
      async () => {
        try {
          await this.#lifecycle.destroy()
        } finally {
          ;(this.#request as unknown as { session: unknown }).session = null
        }
      },
      callback,
    )
  }

  /** Writes the session now (only what changed) and extends its expiry. */
  save(callback?: SessionCallback): Promise<void> | undefined {
    return settle(
      undefined,
      async () => {
        const result = await this.#lifecycle.save()
        if (result !== 'gone' && result !== 'destroyed') {
          this.#saved = true
          if (this.cookie.originalMaxAge != null)
            this.cookie.expires = new Date(this.#lifecycle.session.expiresAt)
          this.#fixed?.hold(this.cookie)
        }
      },
      callback,
    )
  }

  /** True when data (not the cookie) changed since load or the last save. */
  isModified(): boolean {
    return this.#lifecycle.isModified({ includeCookie: false, sinceSave: true })
  }

  /** True once this request saved the session (`save()`, or the end-of-request save). */
  isSaved(): boolean {
    return this.#saved
  }

  /** New id, same data (call it at login, against session fixation); the cookie follows. */
  changeId(callback?: SessionCallback): Promise<void> {
    const promise = Promise.resolve().then(() => {
      this.#lifecycle.changeId()
    })
    return settle(null, () => promise, callback) ?? promise
  }

  /** The session's owner set by `setPrincipal`, `undefined` when none. */
  getPrincipal(): string | undefined {
    return this.#lifecycle.session.principal
  }

  /** Names the owner of the session, so `revokeAll` and `destroyAllFor` find it. */
  setPrincipal(principal: string | undefined): void {
    this.#lifecycle.session.setPrincipal(principal)
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
    const promise = this.#lifecycle.revokeAll({ exceptCurrent }).then((count) => {
      if (!exceptCurrent) (this.#request as unknown as { session: unknown }).session = null
      return count
    })
    return settle(null, () => promise, callback) ?? promise
  }

  /**
   * After `destroy()` (`request.session` is null): the cookie core settles for the destroyed
   * session, which is a clearing one for a sealed store only; other stores settle nothing here,
   * as @fastify/session sends no cookie after `destroy()`.
   */
  [kDestroyedCookie](reply: FastifyReply): void {
    if (!this.#lifecycle.session.isDestroyed) return
    const outcome = this.#lifecycle.preview('end').outcome
    if (outcome) writeCookie(this.#ctx, reply, outcome.cookie)
  }

  /** The onSend half: core's commit, then the cookie it decided. Runs once. */
  [kCommitNow](reply: FastifyReply): boolean {
    if (this.#committing) return false
    let outcome: CommitOutcome | undefined
    try {
      outcome = this.#lifecycle.preview('end').outcome
    } catch {
      return false // the commit reports it
    }
    if (!outcome || this.#resendsUnconfirmed(outcome)) return false
    writeCookie(this.#ctx, reply, this.#capped(outcome.cookie))
    this.#committing = Promise.resolve()
    return true
  }

  [kCommit](reply: FastifyReply): Promise<void> {
    this.#committing ??= this.#lifecycle.commit().then(async (outcome) => {
      const cookie = this.#resendsUnconfirmed(outcome) ? await this.#rollingCookie() : outcome.cookie
      writeCookie(this.#ctx, reply, this.#capped(cookie))
    })
    return this.#committing
  }

  #capped(cookie: CookieInstruction | undefined): CookieInstruction | undefined {
    return this.#fixed ? this.#fixed.cap(cookie, this.cookie) : cookie
  }

  /** Past its fixed `expires`: the peer regenerates such a session when it loads it. */
  get [kExpiredOnLoad](): boolean {
    return this.#fixed?.passed(this.#lifecycle) ?? false
  }

  /**
   * A rolling session that needed no write (no change, no touch due) gets no confirmed cookie
   * from core, yet the peer re-sends its cookie on every response and plugins built on it
   * (CSRF, flash) compare it. Only sessionkit stores get here: with a callback store the
   * peer's every-request `set` confirms the cookie.
   */
  #resendsUnconfirmed(outcome: CommitOutcome): boolean {
    return this.#ctx.rolling && !this.#ctx.callbackStore && outcome.result === 'unchanged' && !outcome.cookie
  }

  /**
   * The rolling cookie, once a read of the store shows the id still live: a slow request whose
   * session another request rotated (`changeId`, `regenerate`) or destroyed meanwhile must
   * never send the retired id back over the client's new cookie. A read, not a touch: the
   * store's expiry still moves only with the throttled touch (`touchAfter`).
   */
  async #rollingCookie(): Promise<CookieInstruction | undefined> {
    const cookie = this.#lifecycle.preview().cookie
    if (cookie?.action !== 'set' || cookie.id !== this.#lifecycle.presentedId) return undefined
    try {
      return (await this.#ctx.manager.repository.load(cookie.id)) ? cookie : undefined
    } catch {
      // The store failed a read this response did not need: the session is intact, only the
      // courtesy re-send is skipped (the cookie the client holds stays valid).
      return undefined
    }
  }

  /** Regenerate and reload replace `request.session` with a new object on the same lifecycle. */
  #replace(): FastifySession {
    const next = new FastifySession(this.#ctx, this.#request, this.#lifecycle, this.#fixedDate)
    ;(this.#request as unknown as { session: unknown }).session = next
    return next
  }
}

/**
 * The store calls @fastify/session's `regenerate()` makes besides core's: `destroy` of the old
 * id also when it was never saved, and `set` of the new session at once (it is written again
 * at the end of the request by the usual rules). For callback stores only: these calls are
 * what such a store, and an app or test suite watching it, sees from the peer.
 */
async function regenerateInCallbackStore(
  store: CallbackStore,
  unsavedId: string | undefined,
  next: FastifySession,
): Promise<void> {
  const call = (op: (cb: (err?: unknown) => void) => void) =>
    new Promise<void>((resolve, reject) => op((err) => (err ? reject(err) : resolve())))
  if (unsavedId !== undefined) await call((cb) => store.destroy(unsavedId, cb))
  const object: Record<string, unknown> = {}
  for (const key of Object.keys(next)) object[key] = key === 'cookie' ? next.cookie.toJSON() : next[key]
  await call((cb) => store.set(next.sessionId, object, cb))
}

/** The cookie object's shape (SessionCookie), without importing the class here. */
type SessionCookieLike = ReturnType<typeof cookieFromSettings>

/** Puts core's cookie decision on the reply, through @fastify/cookie. */
export function writeCookie(ctx: Context, reply: FastifyReply, cookie: CookieInstruction | undefined): void {
  if (!cookie) return
  if (cookie.action === 'clear') {
    reply.clearCookie(ctx.cookieName, { domain: ctx.cookie.domain, path: ctx.cookie.path || '/' })
    return
  }
  const { sameSite, priority: _priority, ...attributes } = cookie.attributes
  reply.setCookie(ctx.cookieName, ctx.prefix + ctx.signer.sign(cookie.value ?? cookie.id), {
    ...attributes,
    // An explicit null, as the peer's cookie.toJSON() gives: @fastify/cookie's own default is Lax.
    sameSite: sameSite ?? null,
    ...(cookie.expires ? { expires: cookie.expires } : {}),
  } as Parameters<FastifyReply['setCookie']>[2])
}

/** The cookie's value without `cookiePrefix`, as @fastify/session reads it. */
export function presentedValue(ctx: Context, request: FastifyRequest): string | undefined {
  const raw = (request as { cookies?: Record<string, string | undefined> }).cookies?.[ctx.cookieName]
  if (!raw || !ctx.prefix) return raw || undefined
  return raw.startsWith(ctx.prefix) ? raw.slice(ctx.prefix.length) || undefined : undefined
}

/**
 * Core's bridge with @fastify/session's success value: `reload` passes on the `null` of the
 * store's `get`, `save` calls back with no argument, `regenerate` and `destroy` with the
 * store's (see `Context.storeSuccess`).
 */
function settle<T>(
  success: null | undefined,
  work: () => Promise<T>,
  callback?: SessionCallback<T>,
): Promise<T> | undefined {
  return coreSettle(work, callback, { success })
}
