import { type CookieOptions, createSigner, SessionError, type Signer } from '@sessionkit/core'
import type { AnyContext, ResolvedOptions } from './options'

const EPOCH = new Date(0)

/**
 * Where a store-mode session id travels: `externalKey`, koa-session's cookie (`app.keys`
 * signed, `.sig` companion), or express-session's `s:<id>.<hmac>` cookie, which Express and
 * Fastify apps configured with the same name and secrets read and write too.
 */
export class IdCarrier {
  #signer: Signer | undefined

  constructor(
    readonly options: ResolvedOptions,
    readonly app: { keys?: unknown },
  ) {}

  get expressForm(): boolean {
    return this.options.cookieFormat === 'express'
  }

  /** The id the request presents, verified; undefined when absent or badly signed. */
  read(ctx: AnyContext, options: ResolvedOptions): string | undefined {
    if (options.externalKey) return options.externalKey.get(ctx) || undefined
    if (!this.expressForm) return ctx.cookies.get(options.key, options) || undefined
    const raw: string | undefined = ctx.cookies.get(options.key, { signed: false })
    if (!raw) return undefined
    let value: string
    try {
      value = decodeURIComponent(raw)
    } catch {
      return undefined
    }
    if (!value.startsWith('s:')) return undefined
    return this.#sign().unsign(value.slice(2)) || undefined
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

  #sign(): Signer {
    if (this.#signer) return this.#signer
    const secrets = this.options.secret ?? (this.app.keys as string[] | undefined)
    if (!secrets || (Array.isArray(secrets) && secrets.length === 0)) {
      throw new SessionError('INVALID_OPTIONS', "cookieFormat 'express' needs `secret` or app.keys")
    }
    this.#signer = createSigner(secrets)
    return this.#signer
  }
}
