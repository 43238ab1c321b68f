import type { CookieOptions } from '../cookie'
import type { CommitResult, SessionRepository } from '../repository'
import type { CookieSettings } from './cookie-settings'
import type { CommitPlan } from './plan'
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
      /** The session id. */
      id: string
      /** What to sign and send when it is not the id: the sealed session of a `SealedCookieStore`. */
      value?: string
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

/**
 * What the commit would do if it ran now (`RequestLifecycle.preview`): its plan (`undefined`
 * when the session cannot be planned now: the commit reports why), the cookie it would send once
 * the store confirms, and with `'end'` its outcome when it needed no store call.
 */
export interface Preview {
  plan: CommitPlan | undefined
  cookie: CookieInstruction | undefined
  outcome?: CommitOutcome
}

/** What the binding's session object holds now; read before every decision and write. */
export interface Snapshot {
  /**
   * The app's data. It may be the binding's session object itself, `cookie` included: that
   * key is never data (the cookie settings are {@link cookie}), so nothing is copied per read.
   */
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
