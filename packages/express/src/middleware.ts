import type { ServerResponse } from 'node:http'
import type { CommitResult, CookieIdResolver } from '@sessionkit/core'
import { type Req, RequestContext } from './context'
import type { CookieOptions } from './cookie'
import { type Config, resolverFor } from './options'
import { deprecate } from './warnings'

type Next = (err?: unknown) => void

/** The middleware function, as Express calls it. */
export type Handler = (req: any, res: any, next: Next) => void

/** Request handling: load before `next()`, save before the response ends. */
export function createHandler(config: Config): Handler {
  return function session(req: Req, res: ServerResponse, next: Next): void {
    if (req.session) {
      next()
      return
    }

    const url = req.originalUrl ?? req.url ?? '/'
    const pathname = url.split('?')[0] || '/'
    const options: CookieOptions = typeof config.cookie === 'function' ? config.cookie(req) : config.cookie
    if (pathname.indexOf(options.path || '/') !== 0) {
      next()
      return
    }

    const resolver = config.resolver ?? (req.secret ? resolverFor(req.secret, config.name) : undefined)
    if (!resolver) {
      next(new Error('secret option required for sessions'))
      return
    }

    req.sessionStore = config.store
    const cookieId = readId(req, resolver, config.name)
    req.sessionID = cookieId as string
    const ctx = new RequestContext(config, req, resolver, cookieId)
    ctx.open().then(() => {
      hold(res, ctx, next)
      next()
    }, next)
  }
}

/** The session id the request carries, checked against the secrets. */
function readId(req: Req, resolver: CookieIdResolver, name: string): string | undefined {
  const id = resolver.read(req)
  if (id) return id
  // cookie-parser ran first and consumed the header: read what it parsed, as the peer does.
  const signed = req.signedCookies?.[name]
  if (typeof signed === 'string' && signed) {
    deprecate('cookie should be available in req.headers.cookie')
    return signed
  }
  const raw = req.cookies?.[name]
  const parsed = typeof raw === 'string' ? resolver.unwrap(raw) : undefined
  if (parsed) deprecate('cookie should be available in req.headers.cookie')
  return parsed || undefined
}

/**
 * Holds the response until the session is saved: `res.end` waits for the store, so a
 * redirect after login reaches a browser only once the session exists. Set-Cookie is added
 * as the headers go out (the peer's `on-headers`), decided by express-session's rules.
 */
function hold(res: ServerResponse, ctx: RequestContext, next: Next): void {
  const realEnd = res.end
  const realWriteHead = res.writeHead
  let decision: boolean | undefined
  let failed = false

  res.writeHead = function writeHead(this: ServerResponse, ...args: any[]) {
    if (!failed && !res.headersSent) {
      try {
        ctx.touch()
        ctx.writeCookie(res, decision ?? ctx.shouldSetCookie())
      } catch (err) {
        setImmediate(next, err)
      }
    }
    return (realWriteHead as Function).apply(this, args)
  } as ServerResponse['writeHead']

  res.end = function end(this: ServerResponse, ...args: any[]) {
    if (ctx.ended) return this
    ctx.ended = true
    // Decided now, on the state the handler left: the save below changes what "modified" means.
    if (!res.headersSent) {
      try {
        ctx.touch()
        decision = ctx.shouldSetCookie()
      } catch {
        decision = false
      }
    }
    ctx.finish().then(
      (result: CommitResult | undefined) => {
        if (result === 'gone' || result === 'destroyed') decision = false
        ;(realEnd as Function).apply(res, args)
      },
      (err: unknown) => {
        if (res.headersSent) {
          // Streaming already began: finish the body, then let Express see the error.
          ;(realEnd as Function).apply(res, args)
          next(err)
          return
        }
        failed = true
        res.end = realEnd
        res.writeHead = realWriteHead
        next(err)
      },
    )
    return this
  } as ServerResponse['end']
}
