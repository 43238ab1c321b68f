import type { ServerResponse } from 'node:http'
import {
  type CommitOutcome,
  type CookieIdResolver,
  type CookieInstruction,
  isSecure,
  serializeCookie,
} from '@sessionkit/core'
import onHeaders from 'on-headers'
import parseUrl from 'parseurl'
import { type Req, RequestContext } from './context'
import { type Config, resolverFor } from './options'
import { deprecate } from './warnings'

type Next = (err?: unknown) => void

/** The middleware function, as Express calls it. */
export type Handler = (req: any, res: any, next: Next) => void

/** Framework glue: read the cookie, begin core's lifecycle, commit before the response ends. */
export function createHandler(config: Config): Handler {
  let storeReady = true
  const events = config.store as { on?: (event: string, listener: () => void) => unknown }
  if (typeof events.on === 'function') {
    // express-session's behaviour: while the store is disconnected, requests get no session.
    events.on('disconnect', () => {
      storeReady = false
    })
    events.on('connect', () => {
      storeReady = true
    })
  }

  return function session(req: Req, res: ServerResponse, next: Next): void {
    if (req.session) {
      next()
      return
    }
    if (!storeReady) {
      next()
      return
    }
    // The original URL: absolute-form request lines (`GET http://host/x`) included.
    const pathname = parseUrl.original(req as any)?.pathname || '/'
    const options = config.cookieFor(req)
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
    const secure = isSecure(
      {
        encrypted: (req.socket as { encrypted?: boolean } | null)?.encrypted,
        forwardedProto: req.headers['x-forwarded-proto'],
        framework: req.secure,
      },
      config.proxy,
    )
    config.manager.begin({ id: cookieId, cookie: options, secure, context: req }).then((lifecycle) => {
      const ctx = new RequestContext(lifecycle, req, config.unsetDestroy)
      hold(res, ctx, resolver, config.name, next)
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
 * Holds the end of the response until core's commit is done, so a redirect after login
 * reaches the browser only once the session exists. Set-Cookie goes on as the headers go out
 * (`on-headers`, as the peer): the committed outcome, or for a body streamed before the end,
 * the cookie core predicts.
 */
function hold(
  res: ServerResponse,
  ctx: RequestContext,
  resolver: CookieIdResolver,
  name: string,
  next: Next,
): void {
  const realEnd = res.end
  let outcome: CommitOutcome | undefined
  let failed = false

  onHeaders(res, () => {
    if (failed) return
    try {
      const cookie = outcome ? outcome.cookie : ctx.lifecycle.predictCookie()
      if (cookie) res.appendHeader('Set-Cookie', serialize(cookie, resolver, name, ctx.lifecycle.secure))
    } catch (err) {
      setImmediate(next, err)
    }
  })

  res.end = function end(this: ServerResponse, ...args: any[]) {
    if (ctx.ended) return this
    ctx.ended = true
    ctx.finish().then(
      (result) => {
        outcome = result
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
        next(err)
      },
    )
    return this
  } as ServerResponse['end']
}

function serialize(
  cookie: CookieInstruction,
  resolver: CookieIdResolver,
  name: string,
  secure: boolean,
): string {
  if (cookie.action === 'clear')
    return serializeCookie(name, '', cookie.attributes, { secure, expires: new Date(0) })
  return serializeCookie(name, resolver.wrap(cookie.id), cookie.attributes, {
    secure,
    expires: cookie.expires,
  })
}
