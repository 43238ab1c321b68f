import { debuglog } from 'node:util'
import type { CommitPlan } from './plan'
import type { CommitOutcome } from './request-types'

const log = debuglog('sessionkit')

/**
 * `NODE_DEBUG=sessionkit` output. `enabled` is read once, at load: with it off, every call
 * site costs one property read and builds no message.
 */
export const debug: { enabled: boolean; write: (message: string, ...args: unknown[]) => void } = {
  enabled: log.enabled,
  write: (message, ...args) => log(message, ...args),
}

/** An id as debug output shows it: never whole (a logged id is a stolen session). */
export function shortId(id: string | undefined): string {
  return id === undefined ? '(none)' : `${id.slice(0, 6)}…`
}

/** Milliseconds since `start` (a `performance.now()`), for store call timings. */
export function since(start: number): string {
  return `${(performance.now() - start).toFixed(1)} ms`
}

/** An error as debug output shows it: its code or name, never its message (a store's may carry an id). */
export function errorName(err: unknown): string {
  const { code, name } = (err ?? {}) as { code?: unknown; name?: unknown }
  return String(code ?? name ?? typeof err)
}

/** One store call: what it answered and how long it took. */
export function logStore(call: string, id: string | undefined, answer: string, start: number): void {
  debug.write('store %s %s: %s in %s', call, shortId(id), answer, since(start))
}

/** A store call that failed: its error's code or name, never its message. */
export function logStoreError(call: string, id: string | undefined, err: unknown, start: number): void {
  debug.write('store %s %s: failed in %s (%s)', call, shortId(id), since(start), errorName(err))
}

/** A commit carried out (or settled at the end of the response): the plan, the outcome, why. */
export function logCommit(when: string, id: string, plan: CommitPlan, outcome: CommitOutcome): void {
  const store =
    plan.store === 'none'
      ? 'no store call'
      : plan.store === 'write' && plan.force
        ? 'write (forced)'
        : plan.store
  const cookie = outcome.cookie ? `${outcome.cookie.action} cookie` : 'no cookie'
  debug.write(
    '%s %s: %s -> %s, %s (%s)',
    when,
    shortId(id),
    store,
    outcome.result ?? 'nothing',
    cookie,
    plan.reason,
  )
}

let warnedSecureOverHttp = false

/**
 * A `secure` cookie left off a plain-HTTP response is the classic "sessions do not stick"
 * (every request a new session); said once per process, with the option to set.
 */
export function warnSecureOverHttp(): void {
  if (warnedSecureOverHttp) return
  warnedSecureOverHttp = true
  process.emitWarning(
    'sessionkit: a `secure` session cookie was not sent because the request did not arrive over ' +
      'HTTPS and no proxy is trusted. Behind a TLS-terminating proxy, trust it: express `proxy: true` ' +
      "(or `app.set('trust proxy', 1)`), koa `app.proxy = true`, fastify `trustProxy: true`.",
    { code: 'SESSIONKIT_SECURE_OVER_HTTP' },
  )
}

/** For tests: the next blocked cookie warns again. */
export function resetSecureOverHttpWarning(): void {
  warnedSecureOverHttp = false
}
