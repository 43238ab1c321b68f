import { isSessionStore, type SessionRepository, type SessionStore } from '@sessionkit/core'
import type {} from 'koa'
import { ClassicSession, type RequestSession } from './classic'
import { type AnyContext, type ResolvedOptions, resolveOptions, type SessionOptions } from './options'
import type { Session } from './session'
import { type MigrationCounts, SessionkitMode } from './sessionkit-mode'

/**
 * Your session data: merge your fields in to type `ctx.session`. Without any, `ctx.session`
 * takes any property, as with koa-session.
 *
 * @example
 * ```ts
 * declare module '@sessionkit/koa' {
 *   interface SessionData { userId: string; views: number }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: an interface, so apps can merge their fields in
export interface SessionData {}

/** `ctx.session`: koa-session's members plus your {@link SessionData}. */
export type ContextSession = Session &
  (keyof SessionData extends never ? Record<string, any> : Partial<SessionData>)

declare module 'koa' {
  interface ExtendableContext {
    /** The session (created on first access in cookie mode); `null` after `ctx.session = null`. */
    get session(): ContextSession
    /** `null` destroys the session; an object replaces its data (same key). */
    set session(value: Partial<SessionData> | Record<string, unknown> | null)
    /** This request's copy of the options; `maxAge` here is this session's. */
    readonly sessionOptions: ResolvedOptions
  }
}

/** Koa middleware, as `session()` returns it. */
export interface SessionMiddleware {
  (ctx: AnyContext, next: () => Promise<unknown>): Promise<void>
  /** With a sessionkit store: its repository, e.g. `repository.destroyAllFor(userId)` from admin code. */
  readonly repository?: SessionRepository
  /**
   * With a sessionkit store: where the sessions this process served lived since it started
   * (a copy), to follow a move from koa-session's cookie mode (docs/MIGRATION.md).
   */
  readonly migration?: MigrationCounts
}

/**
 * What `session()` returns with a sessionkit store: `repository` and `migration` are always
 * there, typed as Express's and Fastify's `repository` are.
 */
export interface SessionkitMiddleware extends SessionMiddleware {
  /** The store's repository, e.g. `repository.destroyAllFor(userId)` from admin code. */
  readonly repository: SessionRepository
  /** Where the sessions this process served lived since it started (a copy), see docs/MIGRATION.md. */
  readonly migration: MigrationCounts
}

interface KoaApp {
  use: (...args: never[]) => unknown
  context: object
  keys?: unknown
}

const REQUEST_SESSION = Symbol('sessionkit.koa.requestSession')
const INSTANCE = Symbol('sessionkit.koa.instance')

/**
 * koa-session's middleware: `session(options, app)` or `session(app, options)`. Without
 * `store` the whole session lives in the signed cookie (koa-session's default, same bytes);
 * with a store, only its key does.
 *
 * @example
 * ```ts
 * import session from '@sessionkit/koa' // was: import session from 'koa-session'
 * import Koa from 'koa'
 *
 * const app = new Koa()
 * app.keys = ['some secret hurr']
 * app.use(session({ maxAge: 86_400_000 }, app))
 * app.use((ctx) => {
 *   ctx.session.views = (ctx.session.views ?? 0) + 1
 *   ctx.body = `${ctx.session.views} views`
 * })
 * ```
 */
export function createSession(
  options: SessionOptions & { store: SessionStore },
  app: KoaApp,
): SessionkitMiddleware
export function createSession(
  app: KoaApp,
  options: SessionOptions & { store: SessionStore },
): SessionkitMiddleware
export function createSession(options: SessionOptions | undefined, app: KoaApp): SessionMiddleware
export function createSession(app: KoaApp, options?: SessionOptions): SessionMiddleware
export function createSession(first: unknown, second?: unknown): SessionMiddleware {
  let [input, app] = [first, second] as [SessionOptions | undefined, KoaApp | undefined]
  if (isApp(first)) [app, input] = [first, second as SessionOptions | undefined]
  // A TypeError, as koa-session throws: apps and their tests may check the class.
  if (!isApp(app)) throw new TypeError('app instance required: `session(opts, app)`')
  const options = resolveOptions(input)
  const sessionkit = isSessionStore(options.store) ? new SessionkitMode(options, app) : undefined
  const open = sessionkit
    ? (ctx: AnyContext) => sessionkit.open(ctx)
    : (ctx: AnyContext): RequestSession => new ClassicSession(ctx, options)
  extendContext(app.context, open)

  const middleware = async function session(ctx: AnyContext, next: () => Promise<unknown>): Promise<void> {
    const state: RequestSession = ctx[REQUEST_SESSION]
    await state.load()
    try {
      await next()
    } finally {
      if (options.autoCommit) await state.commit()
    }
  }
  if (sessionkit) {
    Object.defineProperty(middleware, 'repository', { value: sessionkit.repository })
    Object.defineProperty(middleware, 'migration', { get: () => ({ ...sessionkit.counts }) })
  }
  return middleware
}

function isApp(value: unknown): value is KoaApp {
  return typeof (value as KoaApp | null | undefined)?.use === 'function'
}

/**
 * Defines `ctx.session` and `ctx.sessionOptions` on the app's context prototype, once per
 * app: as with koa-session, the first middleware's options are the ones `ctx.session` uses.
 */
function extendContext(context: object, open: (ctx: AnyContext) => RequestSession): void {
  if (Object.hasOwn(context, REQUEST_SESSION)) return
  Object.defineProperties(context, {
    [REQUEST_SESSION]: {
      get(this: Record<symbol, RequestSession>) {
        this[INSTANCE] ??= open(this)
        return this[INSTANCE]
      },
    },
    session: {
      get(this: Record<symbol, RequestSession>) {
        return this[REQUEST_SESSION]!.get()
      },
      set(this: Record<symbol, RequestSession>, value: unknown) {
        this[REQUEST_SESSION]!.set(value)
      },
      configurable: true,
    },
    sessionOptions: {
      get(this: Record<symbol, RequestSession>) {
        return this[REQUEST_SESSION]!.options
      },
    },
  })
}

export default createSession
export type { ExternalKey, ExternalStore, ResolvedOptions } from './options'
export {
  type ParsedSessionOptions,
  type SafeParseResult,
  SessionOptions,
  type SessionOptionsSchema,
} from './options-schema'
/** koa-session 7's name for the options `session()` takes. */
export type CreateSessionOptions = SessionOptions
export { isSessionError, SessionError, type SessionErrorCode } from './errors'
export { Session } from './session'
export type { MigrationCounts } from './sessionkit-mode'
