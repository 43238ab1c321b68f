import { isConnectDriven, peerWrites, readsPeerWrites, storeErrorForApp } from '../callback-store'
import type { CookieOptions } from '../cookie'
import type { CommitResult, SessionRepository } from '../repository'
import { type Session, STATE } from '../session'
import {
  type CookieSettings,
  checkMaxAge,
  resolvedAttributes,
  restoreCookieSettings,
  storedCookieSettings,
} from './cookie-settings'
import type { CommitRules } from './rules'

/** What a request hands the lifecycle when it begins. */
export interface OpenInput {
  /** The id the client presented, signature already verified by the binding; `undefined` when none. */
  id: string | undefined
  /** This request's configured cookie settings (the binding's options, evaluated for the request). */
  cookie: CookieSettings
  /** Whether the request arrived over HTTPS (see `isSecure`). */
  secure: boolean
  /** Passed to a custom id generator (express's `req`, Fastify's `request`, Koa's `ctx`). */
  context?: unknown
  /** The presented cookie was signed with an older secret: re-send it signed with the current one. */
  resign?: boolean
  /** The client sent a session cookie, also one that failed verification (`id` is then undefined). */
  presented?: boolean
}

/** What the binding must put on the response. */
export type CookieInstruction =
  | {
      action: 'set'
      /** The id to sign and send. */
      id: string
      /** Absent for a browser-session cookie; capped at the absolute timeout. */
      expires: Date | undefined
      /** `expires - now` in ms, for frameworks that send Max-Age. */
      maxAgeMs: number | undefined
      /** Secure and SameSite already resolved for this request. */
      attributes: CookieOptions
    }
  | { action: 'clear'; attributes: CookieOptions }

/** The end of a request: what the store did and what the response carries. */
export interface CommitOutcome {
  /** `undefined` when the session was detached from the request (nothing to commit). */
  result: CommitResult | undefined
  cookie: CookieInstruction | undefined
}

/** What the binding's session object holds now; read before every decision and write. */
export interface Snapshot {
  /** The app's data, without `cookie`. */
  data: Record<string, unknown>
  cookie: CookieSettings
}

/** The manager's parts a request needs. */
export interface LifecycleHost<Data extends object> {
  readonly repository: SessionRepository<Data>
  readonly rules: CommitRules
  readonly browserSessionTimeoutMs: number
  newId(context: unknown): string | undefined
  /** New ids come from the app's generator (then also the retry after an id collision). */
  readonly customIds?: boolean
}

const COOKIE = 'cookie'

/**
 * One request's session, from open to commit. Every operation (save, reload, regenerate,
 * destroy, revokeAll, commit) runs after the previous one finished, so a binding can start
 * them from callbacks in any order.
 */
export class RequestLifecycle<Data extends object = Record<string, unknown>> {
  /** The core session underneath; replaced by `regenerate` and `reload`. */
  session: Session<Data>
  /** The app's data (never `cookie`). A binding that keeps its own object supplies {@link snapshot}. */
  data: Record<string, unknown>
  /** This session's cookie settings. */
  cookie: CookieSettings
  readonly defaults: CookieSettings
  /** The id the client presented (also when it named no live session). */
  readonly presentedId: string | undefined
  /** The client sent a session cookie (verified or not). */
  readonly presented: boolean
  readonly secure: boolean
  /** Set by the binding: reads its session object, so decisions see the app's latest changes. */
  snapshot: (() => Snapshot) | undefined
  /**
   * Set by the binding: the session as its peer passes it to a connect store's `set` (data
   * keys plus the peer's `cookie` JSON), for connect stores driven the peer's way.
   */
  connectObject: (() => Record<string, unknown>) | undefined
  readonly #host: LifecycleHost<Data>
  readonly #context: unknown
  readonly #resign: boolean
  #originalId: string
  #savedEarly = false
  #wroteEarly = false
  #touchRequested = false
  #destroyedHere = false
  /** A destroy was attempted (it may have failed): the commit does not try it again. */
  #destroyAttempted = false
  /**
   * The data an explicit `save()` failed to write, encoded: as the peers do, the commit does
   * not write it again unless the app changed it since (the app had the error already).
   */
  #failedSave: string | undefined
  /** A write answered `gone`: deleted elsewhere (logout in another tab, a rotation). */
  #gone = false
  #detached = false
  /** A commit holds one sync and one diff (see `#hold`): nested syncs are no-ops meanwhile. */
  #holding = false
  #queue: Promise<unknown> = Promise.resolve()

  constructor(host: LifecycleHost<Data>, input: OpenInput, loaded: Session<Data> | undefined) {
    this.#host = host
    this.#context = input.context
    this.#resign = input.resign === true
    this.defaults = { ...input.cookie, originalMaxAge: checkMaxAge(input.cookie.originalMaxAge) }
    this.presentedId = input.id
    this.presented = input.presented ?? input.id !== undefined
    this.secure = input.secure
    if (loaded) {
      this.session = loaded
      this.cookie = this.#adopt(loaded)
    } else {
      this.session = host.repository.create({ id: host.newId(input.context), requestedId: input.id })
      this.cookie = { ...this.defaults }
    }
    this.#useAppIds(this.session)
    this.data = this.#appData(this.session)
    this.#originalId = this.session.id
  }

  /** A new id the repository makes for this session (after a collision) comes from the app's generator too. */
  #useAppIds(session: Session<Data>): void {
    if (!this.#host.customIds) return
    const host = this.#host
    const context = this.#context
    const state = session[STATE]
    const fallback = state.newId
    state.newId = () => host.newId(context) ?? fallback()
  }

  get id(): string {
    return this.session.id
  }

  /** The session was never saved: made for this request. */
  get isNew(): boolean {
    return this.session.isNew
  }

  /**
   * The peers' "modified": the id changed, an explicit save wrote, or the data (not the
   * cookie settings, unless the rules say so) differs from what was loaded.
   */
  isModified(options: { includeCookie?: boolean; sinceSave?: boolean } = {}): boolean {
    if (!options.sinceSave) {
      if (this.#wroteEarly) return true
      if (this.session.id !== this.#originalId) {
        if (!this.session.isNew || this.#host.rules.regeneratedCountsAsModified) return true
      }
    }
    try {
      this.#sync()
      const repository = this.#host.repository
      // A new session's settings are all "changed"; only a loaded one's can differ from the store.
      const includeCookie =
        !this.session.isNew && (options.includeCookie ?? this.#host.rules.cookieCountsAsModified)
      return includeCookie
        ? repository.isModified(this.session, { ignoreTimeout: false })
        : repository.isModified(this.session, { ignore: [COOKIE], ignoreTimeout: true })
    } catch {
      return true // an unencodable session counts as modified: its save reports the error
    } finally {
      this.#unsync()
    }
  }

  /** New id, same data (at login, against session fixation); written at commit. */
  changeId(): string {
    return this.session.changeId(this.#host.newId(this.#context))
  }

  /** Asks for the store's expiry to be extended at commit although no touch is due. */
  touch(): void {
    this.#touchRequested = true
  }

  /** Forgets the session for this request without deleting it (`req.session = null`, unset: keep). */
  detach(): void {
    this.#detached = true
  }

  /** New id and empty data; the old record is deleted now, the new one written at commit. */
  regenerate(): Promise<void> {
    return this.#run(async () => {
      const id = this.#host.newId(this.#context)
      const before = this.session.id
      try {
        await this.#host.repository.regenerate(this.session, id)
      } catch (err) {
        // The old record could not be deleted. A connect store is left as the peers leave it
        // (one `destroy`, the error to the app); a sessionkit store's commit deletes it again.
        if (this.session.id !== before && isConnectDriven(this.#host.repository.store))
          this.session[STATE].pendingDelete = undefined
        throw err
      } finally {
        // The request goes on with the new, empty session either way, as with the peers.
        if (this.session.id !== before) {
          this.data = {}
          this.cookie = { ...this.defaults }
          this.#detached = false
        }
      }
    })
  }

  /**
   * Replaces the session with what the store holds; `false` when it no longer exists. A
   * session never stored is looked up only with `lookUpUnsaved` (express-session asks the store).
   */
  reload(options: { lookUpUnsaved?: boolean } = {}): Promise<boolean> {
    return this.#run(async () => {
      if (this.session.isNew && !options.lookUpUnsaved) return false
      const loaded = await this.#host.repository.load(this.session.id)
      if (!loaded) return false
      this.#useAppIds(loaded)
      this.session = loaded
      this.cookie = this.#adopt(loaded)
      this.data = this.#appData(loaded)
      return true
    })
  }

  /** Deletes the session now. */
  destroy(): Promise<void> {
    return this.#run(() => this.#destroy())
  }

  /** Writes the session now (forced), as the peers' `save()`. */
  save(): Promise<CommitResult> {
    return this.#run(async () => {
      this.#failedSave = undefined
      let result: CommitResult
      try {
        result = await this.#write({ saveUninitialized: true, force: true }, true)
      } catch (err) {
        if (this.#host.rules.failedSaveCountsAsSaved) this.#failedSave = this.#encodedData()
        throw err
      }
      this.#savedEarly = true
      if (result === 'created' || result === 'saved') this.#wroteEarly = true
      return result
    })
  }

  /**
   * Deletes every session of this session's principal; with `exceptCurrent`, spares the
   * record this client will hold after commit (the stored one, which a pending `changeId`
   * moves to the new id), else destroys this one too. Answers how many others were deleted.
   */
  revokeAll(options: { exceptCurrent?: boolean } = {}): Promise<number> {
    return this.#run(async () => {
      const principal = this.session.principal
      const except = options.exceptCurrent ? (this.session.storedId ?? this.session.id) : undefined
      const count =
        principal === undefined ? 0 : await this.#host.repository.destroyAllFor(principal, { except })
      if (!options.exceptCurrent) await this.#destroy()
      return count
    })
  }

  /**
   * Throws now what the commit would throw before any store call: a `cookie.maxAge` that is
   * not finite, an attribute the codec cannot encode, a session over `maxSizeBytes`. For
   * frameworks that send the response's headers before the store write completes.
   */
  validate(): void {
    if (this.#detached || this.session.isDestroyed) return
    this.#sync()
    try {
      this.#host.repository.isModified(this.session)
    } finally {
      this.#unsync()
    }
  }

  /**
   * The cookie the commit would send, decided now without a store round trip: for
   * frameworks whose headers leave before the save completes (a streamed body).
   */
  predictCookie(): CookieInstruction | undefined {
    if (this.#detached || this.session.isDestroyed) return undefined
    try {
      const decision = this.#decide()
      return decision.save ? this.#cookieFor(this.session.isNew ? 'created' : 'saved', decision) : undefined
    } catch {
      return undefined
    }
  }

  /**
   * Why the commit would write the session if it ran now: `'modified'` (changed data, a
   * new session with data, an explicit save that wrote), `'forced'` (rolling, renew, resave, a
   * due touch or re-sign), or `undefined` (no write). For peer hooks that run only before a
   * write, such as koa-session's `beforeSave`.
   */
  writeReason(): 'modified' | 'forced' | undefined {
    if (this.#detached || this.session.isDestroyed) return undefined
    const decision = this.#decide()
    if (!decision.save) return undefined
    if (this.isModified()) return 'modified'
    return decision.force ? 'forced' : undefined
  }

  /** The end-of-request commit, after any operation still running. */
  commit(): Promise<CommitOutcome> {
    return this.#run(async () => {
      const session = this.session
      // Destroyed through the core session (`session.destroy()`) and not deleted yet.
      if (session.isDestroyed && !this.#destroyAttempted && !this.#gone) await this.#destroy()
      if (session.isDestroyed) {
        const clear = this.#destroyedHere && this.#host.rules.clearOnDestroy && this.presentedId !== undefined
        return {
          result: this.#destroyedHere ? 'destroyed' : 'gone',
          cookie: clear ? this.#clear() : undefined,
        }
      }
      if (this.#detached) return { result: undefined, cookie: undefined }
      if (this.#failedSave !== undefined && this.#failedSave === this.#encodedData()) {
        return { result: 'skipped', cookie: undefined }
      }
      const release = this.#hold() // validates cookie.maxAge before anything is written
      try {
        const decision = this.#decide()
        if (!decision.save) {
          // The peer still sends the cookie of a session the app saved explicitly.
          if (this.#savedEarly)
            return { result: 'unchanged', cookie: this.#cookieFor('unchanged', { send: true }) }
          const clear = this.#host.rules.clearUnknownId && this.presented && this.presentedId !== session.id
          return { result: 'skipped', cookie: clear ? this.#clear() : undefined }
        }
        const result = await this.#write(
          { saveUninitialized: true, force: decision.force },
          false,
          decision.resave,
        )
        return { result, cookie: this.#cookieFor(result, decision) }
      } finally {
        release()
      }
    })
  }

  /**
   * Syncs the binding's object once for the whole commit and has the repository encode the
   * attributes once: the decision and the write then share both (nothing runs in between
   * that could change them), instead of copying and encoding every attribute for each.
   */
  #hold(): () => void {
    this.#sync()
    let releaseDiff: (() => void) | undefined
    try {
      releaseDiff = this.#host.repository.holdDiff(this.session)
    } catch {
      // Unencodable: isModified counts it as modified and the write reports the error.
    }
    this.#holding = true
    return () => {
      this.#holding = false
      releaseDiff?.()
      this.#unsync()
    }
  }

  /** When and how to write, by the peer's rules. */
  #decide(): { save: boolean; force: boolean; send: boolean; blocked: boolean; resave?: boolean } {
    const rules = this.#host.rules
    const session = this.session
    const attributes = resolvedAttributes(this.cookie, this.secure)
    const blocked = attributes.secure === true && !this.secure && rules.secureOverHttp !== 'send'
    // Asked only when the rules need it: it encodes every attribute.
    let known: boolean | undefined
    const modified = () => {
      known ??= this.isModified()
      return known
    }
    if (blocked && rules.secureOverHttp === 'no-save')
      return { save: false, force: false, send: false, blocked }
    if (session.isNew) {
      const save = rules.saveUninitialized || this.#savedEarly || modified()
      return { save, force: true, send: save && !blocked, blocked }
    }
    if (rules.saveOnceAfterExplicitSave && this.#savedEarly && !this.isModified({ sinceSave: true })) {
      const again = this.presentedId === session.id ? rules.rolling : rules.saveUninitialized
      if (!again) return { save: false, force: false, send: !blocked, blocked }
    }
    const renewDue =
      rules.renew &&
      session.expiresAt - Date.now() < session.maxInactiveMs / 2 &&
      this.cookie.originalMaxAge !== null
    const resave = rules.resave && !this.#savedEarly
    const force =
      resave ||
      (rules.rolling && rules.rollingTouch === 'every-request') ||
      renewDue ||
      this.#resign ||
      this.#touchRequested
    const send =
      !blocked &&
      (this.presentedId !== session.id ||
        rules.rolling ||
        renewDue ||
        this.#resign ||
        (rules.resendExplicitSave === true && this.#savedEarly) ||
        ((rules.resendModified === 'always' || this.cookie.originalMaxAge !== null) && modified()))
    return { save: true, force, send, blocked, resave }
  }

  /** Set-Cookie only for what the store confirmed: never for `gone`, never an unconfirmed rolling re-send. */
  #cookieFor(result: CommitResult, decision: { send: boolean }): CookieInstruction | undefined {
    if (!decision.send) return undefined
    const confirmed =
      result === 'created' ||
      result === 'saved' ||
      result === 'touched' ||
      (result === 'unchanged' && this.#savedEarly)
    if (!confirmed) return undefined
    const session = this.session
    const maxAge = this.cookie.originalMaxAge
    let expires: Date | undefined
    if (maxAge !== null) {
      const now = Date.now()
      const absolute = session.absoluteTimeoutMs
      expires = new Date(
        absolute === undefined ? now + maxAge : Math.min(now + maxAge, session.createdAt + absolute),
      )
    }
    return {
      action: 'set',
      id: session.id,
      expires,
      maxAgeMs: expires ? Math.max(0, expires.getTime() - Date.now()) : undefined,
      attributes: this.#attributes(),
    }
  }

  /** The attributes to write on this request, with the peer's rule for `secure: 'auto'` over HTTP. */
  #attributes(): CookieOptions {
    const attributes = resolvedAttributes(this.cookie, this.secure)
    if (this.#host.rules.laxWhenAutoInsecure && this.cookie.secure === 'auto' && !this.secure) {
      attributes.sameSite = 'lax'
    }
    return attributes
  }

  #clear(): CookieInstruction {
    return { action: 'clear', attributes: this.#attributes() }
  }

  async #write(
    options: { saveUninitialized: boolean; force: boolean },
    explicit = false,
    resave = false,
  ): Promise<CommitResult> {
    this.#sync()
    try {
      const result = await this.#save(options, explicit, resave)
      if (result === 'gone') this.#gone = true
      return result
    } finally {
      this.#unsync()
    }
  }

  /** The repository's save; a connect store driven the peer's way gets the peer's object. */
  #save(
    options: { saveUninitialized: boolean; force: boolean },
    explicit: boolean,
    resave: boolean,
  ): Promise<CommitResult> {
    const object = this.connectObject
    const save = () => this.#host.repository.save(this.session, options)
    return object && readsPeerWrites(this.#host.repository.store)
      ? peerWrites.run({ object, explicit, resave }, save)
      : save()
  }

  /** The app's data as the codec writes it (only after a failed `save()`). */
  #encodedData(): string | undefined {
    try {
      this.#sync()
      return this.#host.repository.codec.encode(this.data)
    } catch {
      return undefined
    } finally {
      this.#unsync()
    }
  }

  async #destroy(): Promise<void> {
    const repository = this.#host.repository
    const unstored = this.session.storedId === undefined ? this.session.id : undefined
    this.#destroyAttempted = true
    this.session.destroy()
    await repository.save(this.session)
    // The peers call a connect store's `destroy` for a session never stored as well (apps and
    // their tests count on that call and its errors); a sessionkit store is spared it.
    if (unstored !== undefined && isConnectDriven(repository.store)) await repository.delete(unstored)
    this.#destroyedHere = true
  }

  /** Reads the binding's object into the core session: data plus the stored cookie settings. */
  #sync(): void {
    if (this.#holding) return
    const snapshot = this.snapshot?.()
    if (snapshot) {
      this.data = snapshot.data
      this.cookie = snapshot.cookie
    }
    const maxAge = checkMaxAge(this.cookie.originalMaxAge)
    if (maxAge !== this.cookie.originalMaxAge) this.cookie = { ...this.cookie, originalMaxAge: maxAge }
    // The app's object as it is (no copy: its size is the app's), the cookie settings beside it.
    this.session.data = this.data as Data
    this.session[STATE].extra = { [COOKIE]: storedCookieSettings(this.cookie, this.defaults) }
    this.session.maxInactiveMs = maxAge ?? this.#host.browserSessionTimeoutMs
  }

  #unsync(): void {
    if (this.#holding) return
    this.session.data = this.data as Data
    this.session[STATE].extra = undefined
  }

  #adopt(loaded: Session<Data>): CookieSettings {
    const settings = restoreCookieSettings(this.defaults, (loaded.data as Record<string, unknown>)[COOKIE])
    // A cookie stored in another form (a connect store's whole cookie JSON, an older layout)
    // counts as loaded in the canonical one: reading a session must not rewrite it.
    const state = loaded[STATE]
    if (state.loaded.has(COOKIE)) {
      const canonical = this.#host.repository.codec.encode(storedCookieSettings(settings, this.defaults))
      if (canonical !== undefined) state.loaded.set(COOKIE, canonical)
    }
    return settings
  }

  #appData(session: Session<Data>): Record<string, unknown> {
    // A loaded session's data is a fresh object of its own: take the cookie out, no copy.
    const data = session.data as Record<string, unknown>
    if (Object.hasOwn(data, COOKIE)) delete data[COOKIE]
    return data
  }

  #run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(op).catch((err: unknown) => {
      throw storeErrorForApp(err)
    })
    this.#queue = result.catch(() => {})
    return result
  }
}
