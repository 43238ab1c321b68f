import {
  type CommitRules,
  type CookieSettings,
  SessionManager,
  type SessionRepository,
} from '@sessionkit/core'
import type { RequestSession } from './classic'
import { IdCarrier } from './id-cookie'
import { MigratingSession } from './migrating'
import { type AnyContext, DAY, originalMaxAge, type ResolvedOptions } from './options'
import { SessionkitSession } from './sessionkit'

/** koa-session's commit rules, as core reads them. */
function koaRules(options: ResolvedOptions): Partial<CommitRules> {
  return {
    saveUninitialized: false,
    resave: false,
    // koa-session re-saves (store `set`) and re-sends on every request.
    rolling: options.rolling === true,
    rollingTouch: 'every-request',
    renew: options.renew === true,
    resendModified: 'always',
    // A new `maxAge` forces a save through `_requireSave`, not through "modified".
    cookieCountsAsModified: false,
    // An unknown key is left alone: the new session's key replaces it once saved.
    clearUnknownId: false,
    clearOnDestroy: true,
    // Koa's `ctx.cookies` refuses a Secure cookie over HTTP with an error that fails the request.
    secureOverHttp: 'send',
    // `save()`, `regenerate()` and a new `maxAge` re-send the cookie, also of unchanged data.
    resendExplicitSave: true,
  }
}

/**
 * Where the sessions this process served lived, since it started: what an operator reads to
 * follow a move from koa-session's cookie mode (docs/MIGRATION.md).
 */
export interface MigrationCounts {
  /** Requests that carried a koa-session cookie-mode cookie whose signature verified. */
  cookieSessions: number
  /** Requests whose cookie named a session found in the store. */
  storeSessions: number
  /** Cookie-mode sessions written into the store (never with `migrate: true`). */
  moved: number
}

/** What every request of one middleware shares in store mode on a sessionkit store. */
export class SessionkitMode {
  readonly manager: SessionManager
  readonly carrier: IdCarrier
  readonly defaults: CookieSettings
  readonly counts: MigrationCounts = { cookieSessions: 0, storeSessions: 0, moved: 0 }

  constructor(
    readonly options: ResolvedOptions,
    app: { keys?: unknown },
  ) {
    const maxAge = originalMaxAge(options.maxAge)
    this.manager = new SessionManager({
      store: options.store as object,
      rules: koaRules(options),
      genid: (ctx) => options.genid(ctx),
      maxInactiveMs: maxAge ?? DAY,
      // By default a browser-session cookie's session idles out after a day, koa-session's default life.
      browserSessionTimeoutMs: options.browserSessionTimeout ?? DAY,
      absoluteTimeoutMs: options.absoluteTimeout,
      // koa-session extends a session only by saving it and re-sending the cookie (rolling,
      // renew): a silent touch would outlive the cookie's Expires, so there is none by default.
      touchAfterMs: options.touchAfter ?? Number.POSITIVE_INFINITY,
      maxSizeBytes: options.maxSizeBytes,
      codec: options.codec,
      // Errors name the options as the app wrote them (the idle timeout is `maxAge`).
      optionNames: {
        maxInactiveMs: 'maxAge',
        absoluteTimeoutMs: 'absoluteTimeout',
        touchAfterMs: 'touchAfter',
        browserSessionTimeoutMs: 'browserSessionTimeout',
        maxSizeBytes: 'maxSizeBytes',
      },
    })
    this.carrier = new IdCarrier(options, app)
    this.defaults = {
      originalMaxAge: maxAge,
      path: options.path ?? '/',
      domain: options.domain,
      httpOnly: options.httpOnly,
      secure: options.secure ?? 'auto',
      sameSite: options.sameSite as CookieSettings['sameSite'],
      partitioned: options.partitioned,
      priority: options.priority,
    }
  }

  get repository(): SessionRepository {
    return this.manager.repository
  }

  open(ctx: AnyContext): RequestSession {
    return this.options.migrate ? new MigratingSession(ctx, this) : new SessionkitSession(ctx, this)
  }
}
