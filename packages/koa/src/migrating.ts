import { ClassicSession, type RequestSession } from './classic'
import { cookieModeData } from './codec'
import type { AnyContext, ResolvedOptions } from './options'
import { SessionkitSession } from './sessionkit'
import type { SessionkitMode } from './sessionkit-mode'
import { readCookie } from './signed-cookie'

/**
 * One request with `migrate: true`: the mixed window of a move from koa-session's cookie mode
 * to a sessionkit store. koa-session servers in cookie mode can read only a session that lives
 * in the cookie, so every session that lives there stays there, and every new session starts
 * there, in koa-session's bytes. A cookie holding a store key (issued by a server that already
 * runs without `migrate`, or before a rollback to this phase) is served from the store, so the
 * servers of the next phase can roll out, and back, without logging anyone out.
 */
export class MigratingSession implements RequestSession {
  #target: RequestSession | undefined
  /** `ctx.session` was used before `load()`: the target is kept whatever the store answers. */
  #used = false

  constructor(
    readonly ctx: AnyContext,
    readonly mode: SessionkitMode,
  ) {}

  get options(): ResolvedOptions {
    return this.#current().options
  }

  get() {
    this.#used = true
    return this.#current().get()
  }

  set(value: unknown): void {
    this.#used = true
    this.#current().set(value)
  }

  async load(): Promise<void> {
    const target = this.#current()
    if (!(target instanceof SessionkitSession)) return
    await target.load()
    // Not in the store (ended, expired, or refused by `valid`): the new session starts in the
    // cookie, where the koa-session servers of the fleet read it; the key is never read as data.
    if (!this.#used && target.lifecycle?.isNew)
      this.#target = new ClassicSession(this.ctx, target.options, 'fresh')
  }

  commit(request?: Parameters<RequestSession['commit']>[0]): Promise<void> {
    return this.#current().commit(request)
  }

  /** Decided from the cookie once: a verified value that is not cookie-mode data is a store key. */
  #current(): RequestSession {
    if (this.#target) return this.#target
    const { ctx, mode } = this
    const value = readCookie(ctx, mode.options.key, mode.options)
    const cookieMode = value ? cookieModeData(value, mode.options.decode) !== undefined : false
    if (cookieMode) mode.counts.cookieSessions++
    const storeKey = Boolean(value) && !cookieMode
    this.#target = storeKey ? new SessionkitSession(ctx, mode) : new ClassicSession(ctx, mode.options, 'read')
    return this.#target
  }
}
