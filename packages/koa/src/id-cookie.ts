import { type CookieOptions, type Secret, SessionError, type Signer } from '@sessionkit/core'
import { CurrentSigner } from './current-signer'
import type { AnyContext, ResolvedOptions } from './options'
import { readCookie } from './signed-cookie'

const EPOCH = new Date(0)

/**
 * Where a store-mode session id travels: `externalKey`, koa-session's cookie (`app.keys`
 * signed, `.sig` companion), or express-session's `s:<id>.<hmac>` cookie, which Express and
 * Fastify apps configured with the same name and secrets read and write too.
 */
export class IdCarrier {
  readonly #signer = new CurrentSigner()

  constructor(
    readonly options: ResolvedOptions,
    readonly app: { keys?: unknown },
  ) {}

  get expressForm(): boolean {
    return this.options.cookieFormat === 'express'
  }

  /**
   * The id the request presents, verified (undefined when absent or badly signed). `resign`:
   * an express-form cookie signed with a secret other than the first, to be re-sent signed
   * with the first (koa-session's keygrip cookies are re-signed by `ctx.cookies` itself).
   */
  read(ctx: AnyContext, options: ResolvedOptions): { id: string | undefined; resign: boolean } {
    const none = { id: undefined, resign: false }
    if (options.externalKey) return { id: options.externalKey.get(ctx) || undefined, resign: false }
    if (!this.expressForm) return { id: readCookie(ctx, options.key, options) || undefined, resign: false }
    const raw: string | undefined = ctx.cookies.get(options.key, { signed: false })
    if (!raw) return none
    let value: string
    try {
      value = decodeURIComponent(raw)
    } catch {
      return none
    }
    if (!value.startsWith('s:')) return none
    const signed = value.slice(2)
    const signer = this.#sign()
    const id = signer.unsign(signed) || undefined
    return { id, resign: id !== undefined && signer.sign(id) !== signed }
  }

  /** Sends the id with the attributes and expiry core decided for this session. */
  write(
    ctx: AnyContext,
    options: ResolvedOptions,
    id: string,
    attributes: CookieOptions,
    expires?: Date,
  ): void {
    if (options.externalKey) {
      options.externalKey.set(ctx, id)
      return
    }
    const cookie = { overwrite: options.overwrite, signed: options.signed, ...attributes, expires }
    if (!this.expressForm) {
      ctx.cookies.set(options.key, id, cookie)
      return
    }
    const value = encodeURIComponent(`s:${this.#sign().sign(id)}`)
    ctx.cookies.set(options.key, value, { ...cookie, signed: false })
  }

  /** Expires the cookie, as koa-session does on `ctx.session = null`. */
  clear(ctx: AnyContext, options: ResolvedOptions): void {
    const signed = this.expressForm ? false : options.signed
    ctx.cookies.set(options.key, '', { ...options, signed, expires: EPOCH, maxAge: false })
  }

  /** Read per request: `secret` or `app.keys` as they are now (replaced or mutated at run time). */
  #sign(): Signer {
    const secrets = this.options.secret ?? (this.app.keys as Secret[] | undefined)
    if (!secrets || (Array.isArray(secrets) && secrets.length === 0)) {
      throw new SessionError('INVALID_OPTIONS', "cookieFormat 'express' needs `secret` or app.keys")
    }
    return this.#signer.for(secrets)
  }
}
