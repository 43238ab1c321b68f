import { randomUUID } from 'node:crypto'
import { type Codec, isSessionStore, type SessionStore } from '@sessionkit/core'
import { decode, encode } from './codec'
import { OptionChecker, optionsError } from './validate'

export type AnyContext = any

/** koa-session's default session life. */
export const DAY = 86_400_000

/** A `maxAge` as core's `originalMaxAge`: `null` for a browser-session cookie (and for 0, as koa-session). */
export const originalMaxAge = (maxAge: number | 'session' | undefined): number | null =>
  typeof maxAge === 'number' && maxAge > 0 ? maxAge : null

/** koa-session's external store: what koa-redis and hand-written stores implement. */
export interface ExternalStore {
  get(
    key: string,
    maxAge: number | 'session' | undefined,
    options: { rolling: boolean; ctx: AnyContext },
  ): unknown
  set(
    key: string,
    session: Record<string, unknown>,
    maxAge: number | 'session',
    options: { rolling: boolean; changed: boolean; ctx: AnyContext },
  ): unknown
  destroy(key: string, options: { ctx: AnyContext }): unknown
}

/** Where the session id travels instead of the cookie, e.g. a header. */
export interface ExternalKey {
  get(ctx: AnyContext): string | undefined
  set(ctx: AnyContext, key: string): void
}

/** koa-session's options, plus sessionkit's (used with a sessionkit store). */
export interface SessionOptions {
  /** Cookie name. Default: `'koa.sess'`. */
  key?: string
  /** Cookie and session lifetime in ms, or `'session'` for a browser-session cookie. Default: one day (the cookie itself has no Expires). */
  maxAge?: number | 'session'
  /** Commit after downstream middleware; `false` needs `ctx.session.manuallyCommit()`. Default: true. */
  autoCommit?: boolean
  /** Replace a cookie of the same name set earlier in this response. Default: true. */
  overwrite?: boolean
  /** The cookie is hidden from page scripts. Default: true. */
  httpOnly?: boolean
  /** Sign the cookie with `app.keys` (a `<key>.sig` cookie). Default: true. */
  signed?: boolean
  /** Save and re-send the cookie on every request. Default: false. */
  rolling?: boolean
  /** Save and re-send the cookie when less than half of `maxAge` remains. Default: false. */
  renew?: boolean
  /** The cookie's Secure attribute. Default: Secure exactly when the request is HTTPS (`app.proxy` for TLS-terminating proxies). */
  secure?: boolean
  /** The cookie's SameSite attribute (`'lax'`, `'strict'`, `'none'`). Default: none sent. */
  sameSite?: string
  /** The cookie's Partitioned attribute (CHIPS). Default: false. */
  partitioned?: boolean
  /** The cookie's Priority attribute. Default: none sent. */
  priority?: 'low' | 'medium' | 'high'
  /** The cookie's Domain attribute. Default: none, the request's host only. */
  domain?: string
  /** The cookie's Path attribute. Default: `'/'`. */
  path?: string
  /** A sessionkit store (store mode on sessionkit), or a koa-session `{ get, set, destroy }` store. Default: none, the session lives in the cookie. */
  store?: ExternalStore | SessionStore
  /** A class; `new ContextStore(ctx)` per request gives a koa-session store. */
  ContextStore?: new (
    ctx: AnyContext,
  ) => ExternalStore
  /** Where the session key travels instead of the cookie (e.g. a header): `get(ctx)` and `set(ctx, key)`. */
  externalKey?: ExternalKey
  /** Cookie mode: session data to cookie value. Default: base64 JSON. */
  encode?: (data: Record<string, unknown>) => string
  /** Cookie mode: cookie value to session data. Default: base64 JSON. */
  decode?: (value: string) => Record<string, unknown>
  /** New session ids. Default: `randomUUID()`, after `prefix`. */
  genid?: (ctx: AnyContext) => string
  /** Prepended to ids made by the default `genid` (koa-session's option). Default: none. */
  prefix?: string
  /** Returning false discards a loaded session (`session:invalid`). */
  valid?: (ctx: AnyContext, data: Record<string, unknown>) => unknown
  /** Called before each save with the session object. */
  beforeSave?: (ctx: AnyContext, session: object) => void
  /** @deprecated koa-session's old name of `maxAge`. */
  maxage?: number | 'session'

  // sessionkit-only, with a sessionkit store
  /** `'express'`: the id cookie in express-session's `s:<id>.<hmac>` form, shared with Express and Fastify apps. Default: `'koa'`. */
  cookieFormat?: 'koa' | 'express'
  /** Secrets of the express-session cookie form; default `app.keys`. Sign with the first, verify with any. */
  secret?: string | string[]
  /** Server-side idle timeout (ms) of sessions with a browser-session cookie (`maxAge` unset or `'session'`). Default: one day, koa-session's default life. */
  browserSessionTimeout?: number
  /**
   * Ms between expiry extensions (a `touch` in the store, no cookie) of an unchanged session.
   * Default: never, as koa-session extends a session only by saving it and re-sending the
   * cookie (`rolling`, `renew`); a silent touch would outlive the cookie's Expires. Express and
   * Fastify default to a tenth of the idle timeout, at most 60 s (see the root README).
   */
  touchAfter?: number
  /** Ms from creation after which the session ends, active or not. Default: none. */
  absoluteTimeout?: number
  /** Largest encoded session in bytes. Default: 1 MiB. */
  maxSizeBytes?: number
  /** Attribute codec of the store. Default: JSON. */
  codec?: Codec
  /**
   * Moving from koa-session's cookie mode while koa-session servers still run: sessions that
   * live in the cookie stay there and new ones start there (koa-session's bytes), sessions
   * already in the store are served from it. Remove it to finish: sessions then move into the
   * store. Needs the koa cookie signed with `app.keys` (see the README). Default: false.
   */
  migrate?: boolean
}

/** The options after defaults: what `ctx.sessionOptions` shows (a per-request copy). */
export type ResolvedOptions = SessionOptions & {
  key: string
  autoCommit: boolean
  overwrite: boolean
  httpOnly: boolean
  signed: boolean
  genid: (ctx: AnyContext) => string
  encode: (data: Record<string, unknown>) => string
  decode: (value: string) => Record<string, unknown>
}

export const DEFAULTS = {
  key: 'koa.sess',
  autoCommit: true,
  overwrite: true,
  httpOnly: true,
  signed: true,
  rolling: false,
  renew: false,
  encode,
  decode,
}

/** `class X {}` but not a plain function: the peer's test for `ContextStore`. */
const isClass = (value: unknown) =>
  typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value))

/**
 * Applies defaults onto `options` itself (as koa-session does, so apps reading their options
 * object back see them) and validates them with koa-session's rules and messages.
 */
export function resolveOptions(input: SessionOptions | undefined): ResolvedOptions {
  const options = (input ?? {}) as Record<string, unknown>
  if (!('maxAge' in options) && 'maxage' in options) {
    options.maxAge = options.maxage
    if (process.env.NODE_ENV !== 'production') {
      console.warn('[koa-session] DeprecationWarning: `maxage` option has been renamed to `maxAge`')
    }
  }
  Object.assign(options, { ...DEFAULTS, ...options })
  check(options)
  if (options.sameSite == null) delete options.sameSite
  for (const flag of ['overwrite', 'httpOnly', 'signed', 'autoCommit'] as const) {
    if (options[flag] == null) options[flag] = true
  }
  // The prefix is read at each call, as koa-session does: an app may change it later.
  if (!options.genid) options.genid = () => `${options.prefix ?? ''}${randomUUID()}`
  return options as unknown as ResolvedOptions
}

function check(options: Record<string, unknown>): void {
  schemaIssues(options).throwIfAny()
  if (options.migrate) checkMigrate(options)
  const ContextStore = options.ContextStore as { prototype?: Record<string, unknown> } | undefined
  if (ContextStore) {
    if (!isClass(ContextStore)) throw optionsError('ContextStore must be a class')
    for (const member of ['get', 'set', 'destroy']) {
      if (typeof ContextStore.prototype?.[member] !== 'function') {
        throw optionsError(`ContextStore.prototype.${member} must be function`)
      }
    }
  }
}

/**
 * What koa-session's zod schema (`SessionOptions`) checks, in its key order so the issues
 * come out in its order; then sessionkit's options. An option with a default passes when
 * undefined, as zod fills the default in.
 */
export function schemaIssues(options: Record<string, unknown>): OptionChecker {
  const checker = new OptionChecker()
  checker.type(options.key, 'string', ['key'], true)
  checker.maxAge(options.maxAge)
  for (const flag of ['autoCommit', 'overwrite', 'httpOnly', 'signed', 'rolling', 'renew', 'secure']) {
    checker.type(options[flag], 'boolean', [flag], true)
  }
  checker.type(options.sameSite, 'string', ['sameSite'], true)
  checker.functions(options.externalKey, 'externalKey', ['get', 'set'])
  checker.functions(options.store, 'store', storeMembers(options.store))
  for (const fn of ['encode', 'decode', 'genid']) checker.type(options[fn], 'function', [fn], true)
  checker.type(options.prefix, 'string', ['prefix'], true)
  for (const fn of ['valid', 'beforeSave']) checker.type(options[fn], 'function', [fn], true)
  if (
    options.cookieFormat !== undefined &&
    options.cookieFormat !== 'koa' &&
    options.cookieFormat !== 'express'
  ) {
    checker.issues.push({
      code: 'invalid_type',
      path: ['cookieFormat'],
      message: "Expected 'koa' or 'express'",
    })
  }
  for (const ms of ['browserSessionTimeout', 'touchAfter', 'absoluteTimeout', 'maxSizeBytes']) {
    checker.type(options[ms], 'number', [ms], true)
  }
  checker.type(options.migrate, 'boolean', ['migrate'], true)
  return checker
}

/** A sessionkit store is recognised by its SPI; anything else must be a koa-session store. */
function storeMembers(store: unknown): string[] {
  return isSessionStore(store) ? ['load', 'save', 'touch', 'delete'] : ['get', 'set', 'destroy']
}

/**
 * `migrate` keeps sessions in koa-session's cookie, so it needs what makes that cookie safe to
 * read as data: a sessionkit store to move to, and a value whose `.sig` `app.keys` verified
 * (an unsigned value, or one carried elsewhere, is anyone's to write).
 */
function checkMigrate(options: Record<string, unknown>): void {
  const why = !isSessionStore(options.store)
    ? 'a sessionkit store (`store`) to move the sessions to'
    : options.signed === false
      ? 'the signed cookie (`signed: true`): an unsigned value is never read as session data'
      : options.externalKey
        ? 'the cookie: with `externalKey` the session never lived in the cookie'
        : options.cookieFormat === 'express'
          ? "koa-session's cookie (`cookieFormat: 'koa'`)"
          : undefined
  if (why) throw optionsError(`migrate: true needs ${why}`)
}
