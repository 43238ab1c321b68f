import type { Session } from '../session'
import { type CookieSettings, resolvedAttributes } from './cookie-settings'
import type { CommitRules } from './rules'

/** When and how the commit writes, and whether the response carries the cookie. */
export interface CommitDecision {
  save: boolean
  force: boolean
  send: boolean
  /** A `secure` cookie on a plain-HTTP request, which the rules keep from being sent. */
  blocked: boolean
  /** express-session's `resave` applies: an unmodified session is rewritten, not touched. */
  resave?: boolean
}

/** What the decision reads of one request's state. */
export interface CommitDecisionInput {
  rules: CommitRules
  session: Pick<Session<object>, 'id' | 'isNew' | 'expiresAt' | 'maxInactiveMs'>
  /** Read at each use: asking `isModified` syncs the binding's object, which may replace the settings. */
  cookie: () => CookieSettings
  secure: boolean
  presentedId: string | undefined
  savedEarly: boolean
  resign: boolean
  touchRequested: boolean
  /** The peers' "modified" (see `RequestLifecycle.isModified`). */
  isModified: () => boolean
  /** Nothing changed since the app's explicit `save()`. */
  unchangedSinceSave: () => boolean
}

/** When and how to write, by the peer's rules. */
export function decideCommit(input: CommitDecisionInput): CommitDecision {
  const { rules, session } = input
  const attributes = resolvedAttributes(input.cookie(), input.secure)
  const blocked = attributes.secure === true && !input.secure && rules.secureOverHttp !== 'send'
  // Asked only when the rules need it: it encodes every attribute.
  let known: boolean | undefined
  const modified = () => {
    known ??= input.isModified()
    return known
  }
  if (blocked && rules.secureOverHttp === 'no-save')
    return { save: false, force: false, send: false, blocked }
  if (session.isNew) {
    const save = rules.saveUninitialized || input.savedEarly || modified()
    return { save, force: true, send: save && !blocked, blocked }
  }
  if (rules.saveOnceAfterExplicitSave && input.savedEarly && input.unchangedSinceSave()) {
    const again = input.presentedId === session.id ? rules.rolling : rules.saveUninitialized
    if (!again) return { save: false, force: false, send: !blocked, blocked }
  }
  const renewDue =
    rules.renew &&
    session.expiresAt - Date.now() < session.maxInactiveMs / 2 &&
    input.cookie().originalMaxAge !== null
  const resave = rules.resave && !input.savedEarly
  const force =
    resave ||
    (rules.rolling && rules.rollingTouch === 'every-request') ||
    renewDue ||
    input.resign ||
    input.touchRequested
  const send =
    !blocked &&
    (input.presentedId !== session.id ||
      rules.rolling ||
      renewDue ||
      input.resign ||
      (rules.resendExplicitSave === true && input.savedEarly) ||
      ((rules.resendModified === 'always' || input.cookie().originalMaxAge !== null) && modified()))
  return { save: true, force, send, blocked, resave }
}
