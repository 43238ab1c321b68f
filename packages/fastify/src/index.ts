import { type CallbackStore, isSessionStore, SessionManager } from '@sessionkit/core'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { CookieOptions } from './cookie'
import { openSession } from './lifecycle'
import { checkSecret, cookieDefaults, type FastifySessionOptions, signerFor } from './options'
import {
  type Context,
  FastifySession,
  kCommit,
  kCommitNow,
  kDestroyedCookie,
  presentedValue,
} from './session'
import { MemoryStore, requestStore } from './store'
import type { FastifySessionObject, SessionStore } from './types'

/** sessionkit's one error class and its check, from `@sessionkit/core`: handle errors by `code` / `statusCode`. */
export { isSessionError, SessionError, type SessionErrorCode } from '@sessionkit/core'
export { type CookieOptions, SessionCookie, type SessionCookieJSON } from './cookie'
export type { CookieSigner, FastifySessionOptions, UnsignResult } from './options'
export type { SessionCallback } from './session'
export type { FastifySessionObject, SessionStore } from './types'

async function plugin(fastify: FastifyInstance, options: FastifySessionOptions): Promise<void> {
  const invalid = checkSecret(options?.secret)
  if (invalid) throw invalid
  const userStore = options.store ?? new MemoryStore()
  const idGenerator = options.idGenerator
  const manager = new SessionManager({
    store: userStore,
    // @fastify/session's rules, as data: core applies them.
    rules: {
      saveUninitialized: options.saveUninitialized ?? true,
      resave: false,
      rolling: options.rolling ?? true,
      // With a sessionkit store the rolling re-send rides on the throttled touch.
      rollingTouch: 'throttled',
      renew: false,
      resendModified: 'always',
      regeneratedCountsAsModified: false,
      cookieCountsAsModified: true,
      secureOverHttp: 'no-save',
      clearUnknownId: true,
      clearOnDestroy: false,
      laxWhenAutoInsecure: true,
      saveOnceAfterExplicitSave: true,
    },
    // @fastify/session's way with a callback store: `set` on every rolling request (never
    // `touch`), and a session past its cookie's expiry destroyed when loaded.
    connect: { keepAlive: 'set', destroyExpiredOnLoad: true },
    // Errors name the options as the app wrote them.
    optionNames: {
      absoluteTimeoutMs: 'absoluteTimeout',
      touchAfterMs: 'touchAfter',
      browserSessionTimeoutMs: 'browserSessionTimeout',
      maxSizeBytes: 'maxSizeBytes',
    },
    ...(idGenerator ? { genid: (request: unknown) => idGenerator(request as FastifyRequest) } : {}),
    ...(options.touchAfter === undefined
      ? isSessionStore(userStore)
        ? {}
        : { touchAfterMs: (options.rolling ?? true) ? 0 : Number.POSITIVE_INFINITY }
      : { touchAfterMs: options.touchAfter }),
    ...(options.absoluteTimeout === undefined ? {} : { absoluteTimeoutMs: options.absoluteTimeout }),
    ...(options.browserSessionTimeout === undefined
      ? {}
      : { browserSessionTimeoutMs: options.browserSessionTimeout }),
    ...(options.maxSizeBytes === undefined ? {} : { maxSizeBytes: options.maxSizeBytes }),
    ...(options.codec === undefined ? {} : { codec: options.codec }),
  })
  const ctx: Context = {
    manager,
    signer: signerFor(options.secret, options.algorithm || 'sha256'),
    prefix: options.cookiePrefix ?? '',
    cookieName: options.cookieName || 'sessionId',
    cookie: cookieDefaults(options.cookie),
    storeSuccess: isSessionStore(userStore) ? undefined : null,
    callbackStore: isSessionStore(userStore) ? undefined : (userStore as CallbackStore),
    rolling: options.rolling ?? true,
  }

  fastify.decorate('sessionRepository', manager.repository)
  fastify.decorate('decryptSession', function decryptSession(
    sessionId: string,
    request: Record<string, any>,
    cookieOpts: CookieOptions | ((err?: unknown) => void),
    callback?: (err?: unknown) => void,
  ) {
    if (typeof cookieOpts === 'function') [callback, cookieOpts] = [cookieOpts, {}]
    const req = request as FastifyRequest
    openSession(ctx, req, sessionId, { ...ctx.cookie, ...cookieOpts }).then(
      (session) => {
        req.session = session as unknown as FastifySessionObject
        // No error argument on success, as the peer's `done()`.
        callback?.()
      },
      (err) => callback?.(err),
    )
  } as FastifyInstance['decryptSession'])
  const shownStore = requestStore(userStore) as FastifyRequest['sessionStore']
  fastify.decorateRequest('sessionStore', { getter: () => shownStore })
  fastify.decorateRequest('session', null as never)

  // The session each request opened, also once `destroy()` set `request.session` to null.
  const opened = new WeakMap<object, FastifySession>()
  fastify.addHook('onRequest', async (request) => {
    // As @fastify/session: outside the cookie's path a request gets a bare object.
    request.session = {} as FastifySessionObject
    const url = (request.raw.url ?? '/').split('?', 1)[0]!
    if (!pathMatches(url, ctx.cookie.path || '/')) return
    const session = await openSession(ctx, request, presentedValue(ctx, request))
    request.session = session as unknown as FastifySessionObject
    opened.set(request, session)
  })

  fastify.addHook('onSend', (request, reply, payload, done) => {
    const session = request.session as unknown
    if (!(session instanceof FastifySession)) {
      // A destroyed sealed session still clears its cookie: the cookie is the session.
      opened.get(request)?.[kDestroyedCookie](reply)
      done(null, payload)
      return
    }
    // Nothing to save, touch or delete: the cookie (if any) now, and on at once.
    let committed: boolean
    try {
      committed = session[kCommitNow](reply)
    } catch (err) {
      done(err as Error)
      return
    }
    if (committed) {
      done(null, payload)
      return
    }
    // @fastify/session's in-process store saves synchronously: the reply has ended when
    // `reply.send()` returns. Plugins such as @fastify/passport rely on it: they send from an
    // async hook without `return reply`, and Fastify then skips the later hooks and the handler
    // because `reply.sent` is true. While our commit runs, the reply reads as sent, so Fastify
    // decides the same way, whatever the registration order (another `send()` meanwhile is
    // refused as on an ended reply); the override goes before Fastify writes the response.
    Object.defineProperty(reply, 'sent', { value: true, configurable: true })
    session[kCommit](reply).then(
      () => {
        delete (reply as { sent?: boolean }).sent
        done(null, payload)
      },
      (err: Error) => {
        delete (reply as { sent?: boolean }).sent
        done(err)
      },
    )
  })
}

/** RFC 6265 path-match of a request path against the cookie's Path. */
function pathMatches(path: string, cookiePath: string): boolean {
  if (path === cookiePath) return true
  if (path.length <= cookiePath.length || !path.startsWith(cookiePath)) return false
  return cookiePath.endsWith('/') || path[cookiePath.length] === '/'
}

/**
 * The plugin's type: a Fastify plugin carrying the stores and itself, as @fastify/session's does
 * (fastify-plugin sets `default` and the camel-cased name, `fastifySession`, on the plugin).
 */
export interface FastifySessionPlugin extends FastifyPluginAsync<FastifySessionOptions> {
  MemoryStore: typeof MemoryStore
  /** The MemoryStore, under @fastify/session's other name. */
  Store: typeof MemoryStore
  /** The plugin itself (`require('@fastify/session').fastifySession`). */
  fastifySession: FastifySessionPlugin
  /** The plugin itself (`require('@fastify/session').default`). */
  default: FastifySessionPlugin
}

/**
 * The plugin: register it where @fastify/session was, after @fastify/cookie, with the same
 * options. `request.session` works as before; sessions live in a sessionkit store.
 *
 * @example
 * ```ts
 * import fastifyCookie from '@fastify/cookie'
 * import fastifySession from '@sessionkit/fastify'
 * import { RedisStore } from '@sessionkit/redis'
 * import Fastify from 'fastify'
 * import { Redis } from 'ioredis'
 *
 * declare module 'fastify' {
 *   interface Session { views: number }
 * }
 *
 * const app = Fastify()
 * app.register(fastifyCookie)
 * const client = new Redis(process.env.REDIS_URL!)
 * app.register(fastifySession, { secret: process.env.SESSION_SECRET!, store: new RedisStore({ client }) })
 * app.get('/', async (request) => {
 *   request.session.views = (request.session.views ?? 0) + 1
 *   return { views: request.session.views }
 * })
 * ```
 */
const fastifySession: FastifySessionPlugin = Object.assign(
  fp(plugin, {
    fastify: '5.x',
    // Plugins written for the peer declare `dependencies: ['@fastify/session']`.
    name: '@fastify/session',
    dependencies: ['@fastify/cookie'],
  }),
  { MemoryStore, Store: MemoryStore },
) as FastifySessionPlugin

// The same names on the top level would be shadowed inside `namespace fastifySession` by its
// own members, and the declaration bundler flattens renamed imports back to the bare name (a
// self-referencing alias in the published .d.ts): each member refers to a distinct alias.
type SessionObjectType = FastifySessionObject
type SessionStoreType = SessionStore
type OptionsType = FastifySessionOptions
type CookieOptionsType = CookieOptions
type MemoryStoreType = MemoryStore

/**
 * @fastify/session's types through the plugin's name, as its `export =` namespace has them:
 * `fastifySession.FastifySessionOptions`, `let s: fastifySession.MemoryStore`, ….
 */
declare namespace fastifySession {
  export type FastifySessionObject = SessionObjectType
  export type SessionStore = SessionStoreType
  export type FastifySessionOptions = OptionsType
  export type CookieOptions = CookieOptionsType
  export type MemoryStore = MemoryStoreType
  export type Store = MemoryStoreType
}

export default fastifySession
export {
  /**
   * The plugin, as a named export (`import { fastifySession } from '@sessionkit/fastify'`).
   *
   * @example
   * ```ts fragment
   * app.register(fastifySession, { secret: process.env.SESSION_SECRET! })
   * ```
   */
  fastifySession,
  /**
   * sessionkit's in-process store with @fastify/session's callback `get`/`set`/`destroy`, also
   * under the peer's names `MemoryStore`/`Store`.
   *
   * @example
   * ```ts fragment
   * app.register(fastifySession, { secret, store: new MemoryStore({ maxSessions: 100_000 }) })
   * ```
   */
  MemoryStore,
  MemoryStore as Store,
}
