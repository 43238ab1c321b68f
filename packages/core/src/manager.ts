/**
 * The request lifecycle every binding runs on. How a binding uses it:
 *
 * 1. Once, at setup: `new SessionManager({ store, rules, genid, browserSessionTimeoutMs, ...repositoryOptions })`
 *    with its peer's commit rules as data (`CommitRules`: saveUninitialized, resave, rolling,
 *    renew, when a modified session re-sends its cookie, ...). A connect (callback) store is
 *    adapted here (`adaptStore`), never in a binding.
 * 2. Per request: read the signed cookie (the binding's framework glue), then
 *    `const lifecycle = await manager.begin({ id, cookie, secure, context })`: `id` is the
 *    verified id or `undefined`, `cookie` the configured settings for this request (`maxAge` as
 *    `originalMaxAge`), `secure` from `isSecure(inputs, proxy)`. It loads the session (store
 *    errors reject: the framework answers 500/503) or makes a new one, and restores the
 *    session's stored cookie settings (`lifecycle.cookie`) over the configured ones.
 * 3. Build the peer's session object from `lifecycle.data` and `lifecycle.cookie`, and set
 *    `lifecycle.snapshot = () => ({ data, cookie })` so core reads the app's latest changes.
 *    The peer's methods map onto `save`, `reload`, `regenerate`, `destroy`, `changeId`,
 *    `revokeAll`, `touch`, `detach`; `settle` bridges callbacks and promises.
 * 4. At the end: `const { result, cookie } = await lifecycle.commit()` and put `cookie` on the
 *    response (`set`: sign `cookie.id`, send with `cookie.attributes` and `cookie.expires`;
 *    `clear`: expire it). Core decides saves, touches, cookie expiry (capped at the absolute
 *    timeout), Secure over plain HTTP, and never re-sends a cookie the store did not confirm.
 *    A binding that can end its response early calls `lifecycle.preview('end')` first: when the
 *    commit needs no store call (most read-only requests) it is settled there and then, and
 *    the response ends at once, as the peers end it when they have nothing to save. What the
 *    commit will do is one plan (`CommitPlan`); `lifecycle.preview()` answers it at any time
 *    (for headers sent early, or a peer hook that runs only before a write).
 *
 * `open(req)` / `commit(req, res, session)` below are the same lifecycle for plain Node
 * servers, with the id in a cookie or header resolver.
 */
import { adaptStore } from './adapt-store'
import { isSessionStore } from './callback-store'
import { storeErrorForApp } from './connect-call'
import { SessionError } from './errors'
import { isValidCustomId, isValidSessionId } from './ids'
import type { CookieSettings } from './lifecycle/cookie-settings'
import { debug, logStore, logStoreError, shortId } from './lifecycle/debug'
import { type OpenInput, RequestLifecycle } from './lifecycle/request'
import { type CommitRules, DEFAULT_RULES } from './lifecycle/rules'
import { isSecure } from './lifecycle/secure'
import type { ConnectProtocol } from './peer-writes'
import { type CommitResult, SessionRepository, type SessionRepositoryOptions } from './repository'
import { invalidDuration, optionName } from './repository-options'
import {
  CookieIdResolver,
  type HttpRequestLike,
  type HttpResponseLike,
  type SessionIdResolver,
} from './resolvers'
import { isSealedStore } from './sealed/store'
import type { Session } from './session'
import type { Secret } from './signer'
import type { SessionStore } from './types'

/** Options of {@link SessionManager}: the repository's, the peer's rules, and how ids travel over plain HTTP. */
export interface SessionManagerOptions<Data extends object = Record<string, unknown>>
  extends Partial<Omit<SessionRepositoryOptions, 'store'>> {
  /** A sessionkit store, or a connect/callback store (adapted). */
  store?: SessionStore | object
  /** An existing repository; otherwise one is made from these options. */
  repository?: SessionRepository<Data>
  /** The peer's commit rules; unset fields take {@link DEFAULT_RULES}. */
  rules?: Partial<CommitRules>
  /**
   * Idle timeout (ms) of sessions whose cookie has no `maxAge` (browser-session cookies).
   * Default: a connect store's own numeric `ttl` (seconds), else `maxInactiveMs` (1 day).
   */
  browserSessionTimeoutMs?: number
  /** How the binding's peer drives a connect store (`keepAlive`, `destroyExpiredOnLoad`): such a store is then called as the peer calls it. */
  connect?: ConnectProtocol
  /** The app's id generator (`genid`, `idGenerator`): ids are checked by `isValidCustomId`. */
  genid?: (context: unknown) => string
  /** Where the id travels for {@link SessionManager.open}. Default: a signed cookie (needs `secret`). */
  resolver?: SessionIdResolver
  /** Secrets of the default cookie resolver: sign with the first, verify with any. */
  secret?: Secret | readonly Secret[]
  /** Send the id on every response (with a store-confirmed touch). Default: false. */
  rolling?: boolean
  /** Save new sessions that hold no data. Default: false. */
  saveUninitialized?: boolean
  /** Honour X-Forwarded-Proto for `secure: 'auto'`. Default: false. */
  trustProxy?: boolean
  /** Cookie Expires follows the session's expiry; `false` gives a browser-session cookie. Default: true. */
  persistentCookie?: boolean
}

/**
 * Sessions for HTTP requests, with no framework in it: begin a request (load or create),
 * let the binding's session object work on it, commit (save, touch, rotate or delete) and
 * say which cookie the response carries.
 *
 * @example
 * ```ts
 * const manager = new SessionManager({ store: new MemoryStore(), secret: process.env.SECRET })
 * http.createServer(async (req, res) => {
 *   const session = await manager.open(req)
 *   session.data.views = ((session.data.views as number) ?? 0) + 1
 *   await manager.commit(req, res, session)
 *   res.end(String(session.data.views))
 * })
 * ```
 */
export class SessionManager<Data extends object = Record<string, unknown>> {
  readonly repository: SessionRepository<Data>
  readonly rules: CommitRules
  readonly browserSessionTimeoutMs: number
  readonly resolver: SessionIdResolver | undefined
  readonly trustProxy: boolean
  readonly persistentCookie: boolean
  readonly #genid: ((context: unknown) => string) | undefined
  readonly #open = new WeakMap<Session<Data>, RequestLifecycle<Data>>()

  constructor(options: SessionManagerOptions<Data>) {
    this.#genid = options.genid
    if (options.repository) this.repository = options.repository
    else {
      if (!options.store) throw new SessionError('INVALID_OPTIONS', 'a store is required')
      const { store, ...rest } = options
      this.repository = new SessionRepository<Data>({
        ...(rest as Partial<SessionRepositoryOptions>),
        store: adaptStore(store, options.connect),
        // A custom generator's ids come back in cookies: they must load too.
        ...(options.genid ? { validateId: (id: string) => isValidSessionId(id) || isValidCustomId(id) } : {}),
      })
    }
    const legacy: Partial<CommitRules> = {}
    if (options.rolling !== undefined) legacy.rolling = options.rolling
    if (options.saveUninitialized !== undefined) legacy.saveUninitialized = options.saveUninitialized
    this.rules = { ...DEFAULT_RULES, ...legacy, ...options.rules }
    // A connect store's own `ttl` (seconds, connect-redis's option) is what the peers give a
    // browser-session cookie's session; a sessionkit store gets the idle timeout.
    const ttl = (options.store as { ttl?: unknown } | undefined)?.ttl
    const storeTtlMs =
      typeof ttl === 'number' && ttl > 0 && !isSessionStore(options.store)
        ? Math.floor(ttl * 1000)
        : undefined
    this.browserSessionTimeoutMs =
      options.browserSessionTimeoutMs ?? storeTtlMs ?? this.repository.maxInactiveMs
    if (!(Number.isSafeInteger(this.browserSessionTimeoutMs) && this.browserSessionTimeoutMs > 0)) {
      throw invalidDuration(
        optionName(options.optionNames, 'browserSessionTimeoutMs'),
        this.browserSessionTimeoutMs,
      )
    }
    this.resolver =
      options.resolver ??
      (options.secret === undefined ? undefined : new CookieIdResolver({ secret: options.secret }))
    this.trustProxy = options.trustProxy ?? false
    this.persistentCookie = options.persistentCookie ?? true
    if (debug.enabled) {
      // Why a presented id loaded nothing, said where the repository knows it.
      this.repository.on('expired', (id) => debug.write('load %s: expired', shortId(id)))
      this.repository.on('error', (err) => debug.write('load: %s (%s)', err.message, err.code))
    }
  }

  /** New ids come from the app's generator, where collisions are possible. */
  get customIds(): boolean {
    return this.#genid !== undefined
  }

  /** A new id from the app's generator (checked), or `undefined` for the repository's own. */
  newId(context: unknown): string | undefined {
    if (!this.#genid) return undefined
    const id = this.#genid(context)
    if (!isValidCustomId(id)) {
      throw new SessionError('INVALID_ID', 'genid must return 1-256 visible ASCII characters')
    }
    return id
  }

  /** Begins a request: loads the session `input.id` names (store errors reject) or makes a new one. */
  async begin(input: OpenInput): Promise<RequestLifecycle<Data>> {
    let loaded: Session<Data> | undefined
    const start = debug.enabled ? performance.now() : 0
    const store = this.repository.store
    if (isSealedStore(store) && input.id !== undefined) {
      // The cookie is the session: what it names is the id sealed inside, or nothing (tampered,
      // truncated, expired, another key) and the request gets a new, empty session.
      input = { ...input, presented: input.presented ?? true, id: store.unseal(input.id) }
    }
    try {
      loaded = input.id === undefined ? undefined : await this.repository.load(input.id)
    } catch (err) {
      if (debug.enabled) logStoreError('load', input.id, err, start)
      throw storeErrorForApp(err)
    }
    const lifecycle = new RequestLifecycle<Data>(this, input, loaded)
    if (debug.enabled) logBegin(input, lifecycle.id, loaded !== undefined, start)
    return lifecycle
  }

  /** Plain Node: the request's session, loaded when its id is valid and live, else a new one. */
  async open(req: HttpRequestLike): Promise<Session<Data>> {
    const resolver = this.#resolver()
    const cookie: CookieSettings = {
      originalMaxAge: this.persistentCookie ? this.repository.maxInactiveMs : null,
    }
    const secure = isSecure(
      {
        encrypted: (req.socket as { encrypted?: boolean } | null | undefined)?.encrypted,
        forwardedProto: req.headers['x-forwarded-proto'],
      },
      this.trustProxy,
    )
    const lifecycle = await this.begin({ id: resolver.read(req), cookie, secure, context: req })
    this.#open.set(lifecycle.session, lifecycle)
    return lifecycle.session
  }

  /** Plain Node: commits the session `open` gave and sets or clears the id on the response. */
  async commit(req: HttpRequestLike, res: HttpResponseLike, session: Session<Data>): Promise<CommitResult> {
    const lifecycle = this.#open.get(session)
    if (!lifecycle) throw new SessionError('INVALID_OPTIONS', 'commit() needs a session that open() returned')
    void req
    const { result, cookie } = await lifecycle.commit()
    const resolver = this.#resolver()
    if (cookie?.action === 'set') {
      resolver.write(res, cookie.value ?? cookie.id, { expires: cookie.expires, secure: lifecycle.secure })
    } else if (cookie?.action === 'clear') {
      resolver.clear(res, { secure: lifecycle.secure })
    }
    return result ?? 'skipped'
  }

  #resolver(): SessionIdResolver {
    if (!this.resolver) throw new SessionError('INVALID_OPTIONS', 'a secret or a resolver is required')
    return this.resolver
  }
}

/** Debug output: where the request's session came from, and why not from the store. */
function logBegin(input: OpenInput, id: string, found: boolean, start: number): void {
  if (input.id !== undefined) {
    logStore(
      'load',
      input.id,
      found ? 'found' : 'not found (never stored, deleted, expired or unreadable)',
      start,
    )
  } else if (input.presented === undefined) {
    // The binding did not say whether a cookie came (express: one that did not verify reads as none).
    debug.write(
      'no verified session cookie (none, or unsigned, tampered, or signed with a secret no longer listed)',
    )
  } else if (input.presented) {
    debug.write('cookie did not verify (unsigned, tampered, or signed with a secret no longer listed)')
  } else {
    debug.write('no session cookie')
  }
  if (!found) debug.write('new session %s', shortId(id))
}
