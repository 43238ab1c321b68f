import type { SessionStore } from '@sessionkit/core'

/**
 * What the binding behaviour suite needs from a binding: an app, on a loopback port, that
 * speaks this HTTP contract with the binding's own session API.
 *
 * - cookie `connect.sid`, express-session's value form `s:<id>.<hmac>`, signed with {@link SECRET}
 * - X-Forwarded-Proto is trusted (the binding's `proxy` / trust-proxy setting)
 * - `POST /login?user=U`: `changeId()`, `user = U`, `setPrincipal(U)`
 * - `GET /me`: `{ id, user, a, b }` (`null` for what is unset)
 * - `POST /set?name=N&value=V[&slow=1]`: sets attribute N (after `options.pause()` when slow)
 * - `POST /logout`: destroys the session
 * - `POST /revoke-others`: `changeId()`, then `revokeAll({ exceptCurrent: true })`: `{ count }`
 * - an error answers its `statusCode` (500 when none) with `{ code, message }`
 *
 * A new binding joins the suite with one adapter file and one row in `bindings.test.ts`.
 */
export interface BindingAdapter {
  name: string
  start(options: AppOptions): Promise<SuiteApp>
}

export interface AppOptions {
  store: SessionStore
  cookie?: { maxAge?: number; secure?: boolean; sameSite?: 'lax' | 'strict' | 'none'; domain?: string }
  genid?: () => string
  /** Server-side idle timeout (ms) of browser-session cookies. */
  browserSessionTimeout?: number
  /** Awaited by `POST /set?slow=1` after the attribute is set, before the response ends. */
  pause?: () => Promise<void>
}

export interface SuiteApp {
  url: string
  close(): Promise<void>
}

export const SECRET = 'the binding suite secret, 32+ characters long'
export const COOKIE = 'connect.sid'
