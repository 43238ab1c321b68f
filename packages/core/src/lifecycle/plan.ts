import type { CommitResult } from '../repository'
import type { Session } from '../session'
import { type CookieSettings, resolvedAttributes } from './cookie-settings'
import type { CommitRules } from './rules'

/** What the request did to its session so far, besides the data: the lifecycle's whole state. */
export interface RequestFacts {
  /** The app removed the session from the request (`req.session = null`, unset: keep). */
  detached: boolean
  /** The app's explicit `save()` answered (`'saved'`), and created or changed the record (`'wrote'`). */
  explicitSave: 'none' | 'saved' | 'wrote'
  /**
   * The data (encoded) an explicit `save()` failed to write: as the peers do, the commit does
   * not write it again unless the app changed it since (the app had the error already).
   */
  failedSave: string | undefined
  /**
   * `'attempted'`: a destroy ran (it may have failed; the commit does not try it again);
   * `'destroyed'`: this request deleted the session; `'gone'`: a write found it deleted
   * elsewhere (logout in another tab, a rotation).
   */
  removal: 'none' | 'attempted' | 'destroyed' | 'gone'
  /** The app asked for the store's expiry to be extended although no touch is due. */
  touchRequested: boolean
  /** The presented cookie was signed with an older secret: re-send it. */
  resign: boolean
}

/** What the plan reads of one request. The functions are asked only when a rule needs them. */
export interface PlanInput {
  rules: CommitRules
  facts: Readonly<RequestFacts>
  session: Pick<Session<object>, 'id' | 'isNew' | 'isDestroyed' | 'expiresAt' | 'maxInactiveMs'>
  presentedId: string | undefined
  /** The client sent a session cookie (verified or not). */
  presented: boolean
  /** The request arrived over HTTPS. */
  secure: boolean
  /** Read at each use: asking `isModified` syncs the binding's object, which may replace the settings. */
  cookie: () => CookieSettings
  /** The peers' "modified" (see `RequestState.isModified`). */
  isModified: () => boolean
  /** Nothing changed since the app's explicit `save()`. */
  unchangedSinceSave: () => boolean
  /** The data is what a failed explicit `save()` could not write. */
  failedSaveUnchanged: () => boolean
}

/** On the response: `'set'` once the store confirmed the result, `'clear'`, or nothing. */
export type CookieAction = 'set' | 'clear' | 'none'

/**
 * What the commit does, decided before any store call, and why. `reason` is for people (debug
 * output); code reads the other fields.
 */
export type CommitPlan =
  | {
      /** Nothing to ask the store: the result is known now. */
      store: 'none'
      result: CommitResult | undefined
      cookie: CookieAction
      /** A Secure cookie the rules keep off this plain-HTTP response, and with it the save. */
      secureBlocked?: true
      reason: string
    }
  | {
      /** Save the session: its changes, or with `force` a rewrite or touch even when unchanged. */
      store: 'write'
      force: boolean
      /** express-session's `resave`: an unmodified session is rewritten, not touched. */
      resave: boolean
      cookie: CookieAction
      /** A Secure cookie the rules keep off this plain-HTTP response. */
      secureBlocked: boolean
      reason: string
    }
  | {
      /** Delete the session the app destroyed through the core session; then plan again. */
      store: 'delete'
      cookie: CookieAction
      reason: string
    }

type NoStoreCall = Extract<CommitPlan, { store: 'none' }>

const none = (result: CommitResult | undefined, cookie: CookieAction, reason: string): NoStoreCall => ({
  store: 'none',
  result,
  cookie,
  reason,
})

/**
 * The commit as a plan, by the peer's rules: the one answer to "why was this cookie sent,
 * this save skipped". Pure: the same request state gives the same plan.
 */
export function planCommit(input: PlanInput): CommitPlan {
  const { rules, facts, session } = input
  if (session.isDestroyed) {
    const here = facts.removal === 'destroyed' || facts.removal === 'none'
    const cookie = here && rules.clearOnDestroy && input.presentedId !== undefined ? 'clear' : 'none'
    if (facts.removal === 'none') return { store: 'delete', cookie, reason: 'destroyed, not deleted yet' }
    return here
      ? none('destroyed', cookie, 'destroyed by this request')
      : none('gone', cookie, 'deleted elsewhere (logout in another tab, a rotation) or a failed destroy')
  }
  if (facts.detached) return none(undefined, 'none', 'detached: the app removed the session')
  const plan = planByRules(input)
  if (facts.failedSave === undefined || !input.failedSaveUnchanged()) return plan
  // The peer sent its cookie as for the write it attempted (its headers do not wait for the
  // store), and does not write the same data again.
  const cookie = plan.store === 'write' ? plan.cookie : 'none'
  return none('skipped', cookie, 'explicit save failed, data unchanged since: not written again')
}

/** The peer's rules for a live, attached session. */
function planByRules(input: PlanInput): CommitPlan {
  const { rules, facts, session } = input
  const attributes = resolvedAttributes(input.cookie(), input.secure)
  const blocked = attributes.secure === true && !input.secure && rules.secureOverHttp !== 'send'
  const savedEarly = facts.explicitSave !== 'none'
  if (blocked && rules.secureOverHttp === 'no-save') {
    return { ...noWrite(input, 'secure cookie over plain HTTP: not saved'), secureBlocked: true }
  }
  if (session.isNew) {
    const why =
      (rules.saveUninitialized && 'new (saveUninitialized)') ||
      (savedEarly && 'new, saved explicitly') ||
      (input.isModified() && 'new, modified')
    return why ? write(true, false, true, blocked, why) : noWrite(input, 'new, unmodified')
  }
  if (rules.saveOnceAfterExplicitSave && savedEarly && input.unchangedSinceSave()) {
    const again = input.presentedId === session.id ? rules.rolling : rules.saveUninitialized
    if (!again) return noWrite(input, 'unchanged since explicit save')
  }
  const renewDue =
    rules.renew &&
    session.expiresAt - Date.now() < session.maxInactiveMs / 2 &&
    input.cookie().originalMaxAge !== null
  const resave = rules.resave && !savedEarly
  const forcedBy =
    (resave && 'resave') ||
    (rules.rolling && rules.rollingTouch === 'every-request' && 'rolling') ||
    (renewDue && 'renew due') ||
    (facts.resign && 're-sign') ||
    (facts.touchRequested && 'touch requested') ||
    undefined
  const sentFor = blocked
    ? undefined
    : (input.presentedId !== session.id && 'id not in the cookie') ||
      (rules.rolling && 'rolling') ||
      (renewDue && 'renew due') ||
      (facts.resign && 're-sign') ||
      (rules.resendExplicitSave === true && savedEarly && 'saved explicitly') ||
      // Asked last: it encodes every attribute.
      ((rules.resendModified === 'always' || input.cookie().originalMaxAge !== null) &&
        input.isModified() &&
        'modified') ||
      undefined
  const reason =
    forcedBy === undefined && sentFor === undefined
      ? 'loaded'
      : `loaded${forcedBy ? `, forced (${forcedBy})` : ''}${sentFor ? `, cookie (${sentFor})` : ''}`
  return write(forcedBy !== undefined, resave, sentFor !== undefined, blocked, reason)
}

function write(force: boolean, resave: boolean, send: boolean, blocked: boolean, reason: string): CommitPlan {
  return {
    store: 'write',
    force,
    resave,
    cookie: send && !blocked ? 'set' : 'none',
    secureBlocked: blocked,
    reason: blocked ? `${reason}; secure cookie over plain HTTP not sent` : reason,
  }
}

/** No write: the peer still sends the cookie of a session the app saved explicitly. */
function noWrite(input: PlanInput, why: string): NoStoreCall {
  if (input.facts.explicitSave !== 'none') return none('unchanged', 'set', `${why}; saved explicitly`)
  const clear = input.rules.clearUnknownId && input.presented && input.presentedId !== input.session.id
  return none('skipped', clear ? 'clear' : 'none', clear ? `${why}; unknown id cleared` : why)
}
