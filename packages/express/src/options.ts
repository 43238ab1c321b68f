import {
  type CallbackStore,
  type Codec,
  CookieIdResolver,
  type CookieSettings,
  isConnectDriven,
  isSessionStore,
  type Secret,
  SessionError,
  SessionManager,
  type SessionRepository,
  type SessionStore,
  serializeCookie,
} from '@sessionkit/core'
import { type CookieOptions, settingsFromOptions } from './cookie'
import { PerSecrets } from './secrets'
import { connectStoreFor, drivenAsPeer, MemoryStore, type Store } from './store'
import { deprecate, MEMORY_STORE_WARNING } from './warnings'

/**
 * The options of express-session 1.19, with its defaults, plus sessionkit's `touchAfter` and
 * `absoluteTimeout`.
 */
export interface SessionOptions {
  /** Cookie settings, or a function of the request giving them. Default: `{ path: '/', httpOnly: true, secure: false, maxAge: null }`. */
  cookie?: CookieOptions | ((req: any) => CookieOptions)
  /** Id generator, synchronous. Default: 32 random bytes, base64url. */
  genid?(req: any): string
  /** Cookie name. Default: `'connect.sid'`. */
  name?: string
  /** @deprecated use `name` */
  key?: string
  /** `true` trusts X-Forwarded-Proto, `false` only a TLS socket, unset uses Express's `req.secure`. */
  proxy?: boolean
  /** Extend the expiry of unmodified sessions on every request (a touch, never a rewrite). Default: `true`, deprecated when unset. */
  resave?: boolean
  /** Send the cookie on every response, with a fresh expiry. Default: `false`. */
  rolling?: boolean
  /** Save new sessions that hold no data. Default: `true`, deprecated when unset. */
  saveUninitialized?: boolean
  /** Signing secret(s): sign with the first, verify with any. Falls back to `req.secret` (deprecated). */
  secret?: Secret | Secret[]
  /** A sessionkit store, or a connect store (`extends Store`). Default: an in-process {@link MemoryStore}. */
  store?: SessionStore | Store | CallbackStore
  /** What `req.session = null` means: `'keep'` (default) or `'destroy'` the stored session. */
  unset?: 'destroy' | 'keep'
  /** sessionkit: an unmodified session is touched in the store at most this often (ms). Default: a tenth of its lifetime, at most 60 s. */
  touchAfter?: number
  /** sessionkit: a session ends this long (ms) after its creation, whatever its activity. */
  absoluteTimeout?: number
  /**
   * sessionkit: server-side idle timeout (ms) of a session whose cookie has no `maxAge` (a
   * browser-session cookie). Default: a connect store's own numeric `ttl` (seconds), else one
   * day, as connect-redis gives such sessions.
   */
  browserSessionTimeout?: number
  /** sessionkit: a session whose encoded attributes exceed this many bytes fails to save (413). Default: 1 MiB. */
  maxSizeBytes?: number
  /** sessionkit: how attribute values are encoded for the store. Default: JSON. */
  codec?: Codec
}

/** What one middleware runs with. */
export interface Config {
  /** This request's cookie settings, from the `cookie` option (an object or a function of the request). */
  cookieFor(req: any): CookieSettings
  name: string
  proxy: boolean | undefined
  /**
   * The cookie resolver for this request: from the `secret` option as it is now (express-session
   * reads it on every request), else from `req.secret` (deprecated); undefined without either.
   */
  resolverFor(req: { secret?: unknown }): CookieIdResolver | undefined
  unsetDestroy: boolean
  /**
   * An unmodified session is touched on every request, as express-session does: while the
   * store is driven through connect methods (a connect store, or the MemoryStore whose methods
   * the app replaced) and the app set no `touchAfter`.
   */
  touchEveryRequest(): boolean
  /** What `req.sessionStore` shows: the store the app passed (a connect face over a sessionkit store), or the default one. */
  store: SessionStore | Store | CallbackStore
  manager: SessionManager
  repository: SessionRepository
}

/** Checks options and applies express-session's defaults and deprecations. */
export function resolveOptions(options: SessionOptions = {}): Config {
  const opts = options ?? {}
  if (opts.genid !== undefined && typeof opts.genid !== 'function') {
    throw new TypeError('genid option must be a function')
  }
  let resave = opts.resave
  if (resave === undefined) {
    deprecate('undefined resave option; provide resave option')
    resave = true
  }
  let saveUninitialized = opts.saveUninitialized
  if (saveUninitialized === undefined) {
    deprecate('undefined saveUninitialized option; provide saveUninitialized option')
    saveUninitialized = true
  }
  if (opts.unset && opts.unset !== 'destroy' && opts.unset !== 'keep') {
    throw new TypeError('unset option must be "destroy" or "keep"')
  }
  const name = cookieName(opts)
  let secret = opts.secret
  if (Array.isArray(secret) && secret.length === 0) {
    throw new TypeError('secret option array must contain one or more strings')
  }
  if (!secret) {
    deprecate('req.secret; provide secret option')
    secret = undefined
  }
  const store = opts.store ?? new MemoryStore()
  if (process.env.NODE_ENV === 'production' && store instanceof MemoryStore) {
    console.warn(MEMORY_STORE_WARNING)
  }
  const genid = opts.genid
  // As express-session, decided once: a connect store without `touch` is never touched.
  const storeTouches = typeof (store as { touch?: unknown }).touch === 'function'
  const manager = new SessionManager({
    store: isSessionStore(store) || !speaksConnect(store) ? store : drivenAsPeer(store as CallbackStore),
    // express-session's rules, as data: core applies them.
    rules: {
      saveUninitialized,
      resave,
      rolling: Boolean(opts.rolling),
      rollingTouch: 'every-request',
      renew: false,
      resendModified: 'persistent',
      regeneratedCountsAsModified: true,
      cookieCountsAsModified: false,
      secureOverHttp: 'no-cookie',
      clearUnknownId: false,
      clearOnDestroy: false,
      failedSaveCountsAsSaved: true,
    },
    // express-session's way with a connect store: `touch` for an unmodified session loaded
    // from the cookie (when the store has it), `set` with `resave` (core marks those writes).
    connect: { keepAlive: 'touch', destroyExpiredOnLoad: false, cookieChangeIsTouch: true },
    // Errors name the options as the app wrote them.
    optionNames: {
      absoluteTimeoutMs: 'absoluteTimeout',
      touchAfterMs: 'touchAfter',
      browserSessionTimeoutMs: 'browserSessionTimeout',
      maxSizeBytes: 'maxSizeBytes',
    },
    ...(genid ? { genid: (req: unknown) => genid(req) } : {}),
    ...(opts.touchAfter === undefined
      ? isSessionStore(store)
        ? {}
        : // Touched exactly where express-session touches (see touchEveryRequest), never by cadence.
          { touchAfterMs: Number.POSITIVE_INFINITY }
      : { touchAfterMs: opts.touchAfter }),
    ...(opts.absoluteTimeout === undefined ? {} : { absoluteTimeoutMs: opts.absoluteTimeout }),
    ...(opts.browserSessionTimeout === undefined
      ? {}
      : { browserSessionTimeoutMs: opts.browserSessionTimeout }),
    ...(opts.maxSizeBytes === undefined ? {} : { maxSizeBytes: opts.maxSizeBytes }),
    ...(opts.codec === undefined ? {} : { codec: opts.codec }),
  })
  const cookie = opts.cookie ?? {}
  // A fixed `expires` counts down: such settings are made per request, as the peer makes its Cookie.
  const fixed = typeof cookie === 'function' || cookie.expires ? undefined : settingsFromOptions(cookie)
  return {
    cookieFor: (req) =>
      fixed ?? settingsFromOptions((typeof cookie === 'function' ? cookie(req) : cookie) ?? {}),
    name,
    proxy: opts.proxy,
    resolverFor: resolversFor(secret, name),
    unsetDestroy: opts.unset === 'destroy',
    touchEveryRequest: () =>
      storeTouches && opts.touchAfter === undefined && isConnectDriven(manager.repository.store),
    store: isSessionStore(store) && !(store instanceof MemoryStore) ? connectStoreFor(store) : store,
    manager,
    repository: manager.repository,
  }
}

/**
 * The cookie name, checked at setup against the rule the `cookie` package (and core's
 * serializer) applies, an RFC 6265 token: express-session only finds out when it first sends
 * the cookie, after the headers, so every response would go out without it.
 */
function cookieName(opts: SessionOptions): string {
  const name = opts.name || opts.key || 'connect.sid'
  try {
    serializeCookie(name, '', {}, { secure: false })
  } catch {
    const option = opts.name ? 'name' : 'key'
    throw new SessionError(
      'INVALID_OPTIONS',
      `${option} option is invalid: ${JSON.stringify(name)} is not a cookie name (RFC 6265 token characters only)`,
    )
  }
  return name
}

/**
 * Per request, the resolver for the `secret` option as the app's array holds it now, or for
 * `req.secret` (cookie-parser's) when the option is unset. Built again only when the secrets
 * changed, so a request costs a comparison of a few strings.
 */
function resolversFor(
  secret: Secret | Secret[] | undefined,
  name: string,
): (req: { secret?: unknown }) => CookieIdResolver | undefined {
  const resolvers = new PerSecrets((list) => new CookieIdResolver({ name, secret: list, prefix: 's:' }))
  if (secret !== undefined) return () => resolvers.for(secret)
  return (req) => (req.secret ? resolvers.for(req.secret as Secret) : undefined)
}

/** Has the connect methods the middleware calls (else core rejects the store, with its message). */
function speaksConnect(store: unknown): boolean {
  const methods = store as Record<string, unknown> | null
  return (
    typeof methods === 'object' &&
    methods !== null &&
    ['get', 'set', 'destroy'].every((name) => typeof methods[name] === 'function')
  )
}
