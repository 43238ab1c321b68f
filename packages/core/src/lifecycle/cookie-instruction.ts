import type { CookieOptions } from '../cookie'
import type { CommitResult } from '../repository'
import type { Session } from '../session'
import { type CookieSettings, resolvedAttributes } from './cookie-settings'
import type { CookieInstruction } from './request-types'
import type { CommitRules } from './rules'

/** One request's cookie as the instructions need it. */
export interface CookieContext {
  cookie: CookieSettings
  /** The request arrived over HTTPS. */
  secure: boolean
  rules: CommitRules
}

/** The attributes to write on this request, with the peer's rule for `secure: 'auto'` over HTTP. */
export function cookieAttributes(context: CookieContext): CookieOptions {
  const attributes = resolvedAttributes(context.cookie, context.secure)
  if (context.rules.laxWhenAutoInsecure && context.cookie.secure === 'auto' && !context.secure) {
    attributes.sameSite = 'lax'
  }
  return attributes
}

/** The instruction that deletes the session cookie on the client. */
export function clearCookie(context: CookieContext): CookieInstruction {
  return { action: 'clear', attributes: cookieAttributes(context) }
}

/** Set-Cookie only for what the store confirmed: never for `gone`, never an unconfirmed rolling re-send. */
export function setCookieFor(
  result: CommitResult,
  decision: { send: boolean },
  request: CookieContext & {
    session: Pick<Session<object>, 'id' | 'createdAt' | 'absoluteTimeoutMs'>
    /** The app saved explicitly during this request. */
    savedEarly: boolean
  },
): CookieInstruction | undefined {
  if (!decision.send) return undefined
  const confirmed =
    result === 'created' ||
    result === 'saved' ||
    result === 'touched' ||
    (result === 'unchanged' && request.savedEarly)
  if (!confirmed) return undefined
  const session = request.session
  const maxAge = request.cookie.originalMaxAge
  let expires: Date | undefined
  if (maxAge !== null) {
    const now = Date.now()
    const absolute = session.absoluteTimeoutMs
    expires = new Date(
      absolute === undefined ? now + maxAge : Math.min(now + maxAge, session.createdAt + absolute),
    )
  }
  return {
    action: 'set',
    id: session.id,
    expires,
    maxAgeMs: expires ? Math.max(0, expires.getTime() - Date.now()) : undefined,
    attributes: cookieAttributes(request),
  }
}
