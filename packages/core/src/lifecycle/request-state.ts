import type { Session } from '../session'
import { STATE } from '../session'
import {
  type CookieSettings,
  checkMaxAge,
  restoreCookieSettings,
  storedCookieSettings,
} from './cookie-settings'
import type { RequestFacts } from './plan'
import type { LifecycleHost, OpenInput, Snapshot } from './request-types'

const COOKIE = 'cookie'

/**
 * One request's session state: the binding's object (data and cookie settings) kept in step
 * with the core session underneath, and the peers' "modified" over both. The operations and
 * the commit are {@link RequestLifecycle}'s.
 */
export class RequestState<Data extends object = Record<string, unknown>> {
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
  protected readonly host: LifecycleHost<Data>
  protected readonly context: unknown
  protected originalId: string
  /** What the request did to its session so far (see {@link RequestFacts}). */
  protected readonly facts: RequestFacts
  /** A commit holds one sync and one diff (see `hold`): nested syncs are no-ops meanwhile. */
  #holding = false

  constructor(host: LifecycleHost<Data>, input: OpenInput, loaded: Session<Data> | undefined) {
    this.host = host
    this.context = input.context
    this.defaults = { ...input.cookie, originalMaxAge: checkMaxAge(input.cookie.originalMaxAge) }
    this.presentedId = input.id
    this.presented = input.presented ?? input.id !== undefined
    this.secure = input.secure
    this.facts = {
      detached: false,
      explicitSave: 'none',
      failedSave: undefined,
      removal: 'none',
      touchRequested: false,
      resign: input.resign === true,
    }
    if (loaded) {
      this.session = loaded
      this.cookie = this.adopt(loaded)
    } else {
      this.session = host.repository.create({ id: host.newId(input.context), requestedId: input.id })
      this.cookie = { ...this.defaults }
    }
    this.useAppIds(this.session)
    this.data = this.appData(this.session)
    this.originalId = this.session.id
  }

  /** A new id the repository makes for this session (after a collision) comes from the app's generator too. */
  protected useAppIds(session: Session<Data>): void {
    if (!this.host.customIds) return
    const host = this.host
    const context = this.context
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
      if (this.facts.explicitSave === 'wrote') return true
      if (this.session.id !== this.originalId) {
        if (!this.session.isNew || this.host.rules.regeneratedCountsAsModified) return true
      }
    }
    try {
      this.sync()
      const repository = this.host.repository
      // A new session's settings are all "changed"; only a loaded one's can differ from the store.
      const includeCookie =
        !this.session.isNew && (options.includeCookie ?? this.host.rules.cookieCountsAsModified)
      return includeCookie
        ? repository.isModified(this.session, { ignoreTimeout: false })
        : repository.isModified(this.session, { ignore: [COOKIE], ignoreTimeout: true })
    } catch {
      return true // an unencodable session counts as modified: its save reports the error
    } finally {
      this.unsync()
    }
  }

  /**
   * Syncs the binding's object once for the whole commit and has the repository encode the
   * attributes once: the decision and the write then share both (nothing runs in between
   * that could change them), instead of copying and encoding every attribute for each.
   */
  protected hold(): () => void {
    this.sync()
    let releaseDiff: (() => void) | undefined
    try {
      releaseDiff = this.host.repository.holdDiff(this.session)
    } catch {
      // Unencodable: isModified counts it as modified and the write reports the error.
    }
    this.#holding = true
    return () => {
      this.#holding = false
      releaseDiff?.()
      this.unsync()
    }
  }

  /** The app's data as the codec writes it (only after a failed `save()`). */
  protected encodedData(): string | undefined {
    try {
      this.sync()
      // A binding's session object as data carries its cookie, which is not data.
      const { [COOKIE]: _cookie, ...data } = this.data
      return this.host.repository.codec.encode(data)
    } catch {
      return undefined
    } finally {
      this.unsync()
    }
  }

  /**
   * Takes `settings` as the cookie settings the loaded session was stored with: a binding's
   * reading of what its peer implies for a stored session (koa-session's one-day `maxAge` for
   * a session saved without one), which must not make a read-only request write.
   */
  assumeStoredCookie(settings: CookieSettings): void {
    this.cookie = settings
    const state = this.session[STATE]
    if (this.session.isNew || !state.loaded.has(COOKIE)) return
    const canonical = this.host.repository.codec.encode(storedCookieSettings(settings, this.defaults))
    if (canonical !== undefined) state.loaded.set(COOKIE, canonical)
  }

  /** Reads the binding's object into the core session: data plus the stored cookie settings. */
  protected sync(): void {
    if (this.#holding) return
    const snapshot = this.snapshot?.()
    if (snapshot) {
      this.data = snapshot.data
      this.cookie = snapshot.cookie
    }
    const maxAge = checkMaxAge(this.cookie.originalMaxAge)
    if (maxAge !== this.cookie.originalMaxAge) this.cookie = { ...this.cookie, originalMaxAge: maxAge }
    // The app's object as it is (no copy: its size is the app's), the cookie settings beside it
    // (they override a `cookie` key of a binding's session object in every encoding).
    this.session.data = this.data as Data
    this.session[STATE].extra = { [COOKIE]: storedCookieSettings(this.cookie, this.defaults) }
    this.session.maxInactiveMs = maxAge ?? this.host.browserSessionTimeoutMs
  }

  protected unsync(): void {
    if (this.#holding) return
    this.session.data = this.data as Data
    this.session[STATE].extra = undefined
  }

  protected adopt(loaded: Session<Data>): CookieSettings {
    const settings = restoreCookieSettings(this.defaults, (loaded.data as Record<string, unknown>)[COOKIE])
    // A cookie stored in another form (a connect store's whole cookie JSON, an older layout)
    // counts as loaded in the canonical one: reading a session must not rewrite it.
    const state = loaded[STATE]
    if (state.loaded.has(COOKIE)) {
      const canonical = this.host.repository.codec.encode(storedCookieSettings(settings, this.defaults))
      if (canonical !== undefined) state.loaded.set(COOKIE, canonical)
    }
    return settings
  }

  protected appData(session: Session<Data>): Record<string, unknown> {
    // A loaded session's data is a fresh object of its own: take the cookie out, no copy.
    const data = session.data as Record<string, unknown>
    if (Object.hasOwn(data, COOKIE)) delete data[COOKIE]
    return data
  }
}
