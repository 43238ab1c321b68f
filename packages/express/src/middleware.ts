import type { ServerResponse } from 'node:http'
import {
  type CommitOutcome,
  type CookieIdResolver,
  type CookieInstruction,
  isConnectDriven,
  isSecure,
  serializeCookie,
} from '@sessionkit/core'
import onHeaders from 'on-headers'
import parseUrl from 'parseurl'
import { type Req, RequestContext } from './context'
import { hasInvalidExpiry } from './cookie'
import { freezeHeaders, gateHeaders } from './held-headers'
import type { Config } from './options'
import { CONTEXT } from './session'
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

  // As express-session: `store.generate(req)`, which `Store#regenerate` (and an app's own
  // `regenerate`) calls to put a new session in `req.session`. A store shared with another
  // middleware (express-session's, which sets its own) keeps that one for its requests.
  const previous = (config.store as { generate?: (req: Req) => void }).generate
  Object.defineProperty(config.store, 'generate', {
    value(this: unknown, req: Req) {
      const ctx = req[CONTEXT] as RequestContext | undefined
      return ctx ? ctx.generate() : previous?.call(this, req)
    },
    writable: true,
    configurable: true,
    enumerable: false,
  })

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
    let resolver: CookieIdResolver | undefined
    try {
      resolver = config.resolverFor(req)
    } catch (err) {
      // The app emptied its `secret` array: nothing can be signed (express-session fails too).
      next(err)
      return
    }
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
      const ctx = new RequestContext(
        lifecycle,
        req,
        config.unsetDestroy,
        config.touchEveryRequest(),
        hasInvalidExpiry(options),
      )
      hold(res, ctx, resolver, next, {
        name: config.name,
        customIds: config.manager.customIds,
        rolling: config.manager.rules.rolling,
        // A connect store keeps express-session's timing exactly (see hold).
        confirmCookies: !isConnectDriven(config.manager.repository.store),
      })
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

/** How {@link hold} treats one request's response. */
interface HoldOptions {
  name: string
  customIds: boolean
  rolling: boolean
  /** Every Set-Cookie waits for the store's word (a sessionkit store), not only the exceptions below. */
  confirmCookies: boolean
}

/**
 * express-session's response timing: at `res.end` the headers (with Set-Cookie, through
 * `on-headers`) and all of the body but its last byte go out at once, and the last byte once
 * the store has answered, so a redirect after login completes only once the session exists
 * while `res.headersSent` is true right after `res.end()`, as with the peer. What fails before
 * any store call (a session too large, an unencodable value, an invalid `cookie.maxAge`)
 * replaces the response with the error handler's. A store failure after that goes to
 * `next(err)` once the response is complete, as the peer does.
 *
 * Except where the response sets the cookie: with a sessionkit store, such a response (a new
 * session, an id changed at login, a rolling re-send) waits with its headers for the store's
 * word, so a failed save is the store's error (503) from the error handler and the client keeps
 * the cookie it had; a streamed one saves before its first write (see gateHeaders). With a
 * connect store only a response re-sending the presented id (a session deleted or rotated
 * meanwhile never gets its old cookie back) and a new session with an app-made id (which the
 * store may find taken: a new id is then cookied) wait.
 */
function hold(
  res: ServerResponse,
  ctx: RequestContext,
  resolver: CookieIdResolver,
  next: Next,
  options: HoldOptions,
): void {
  const { name, customIds, rolling, confirmCookies } = options
  const realEnd = res.end
  const realWrite = res.write
  let outcome: CommitOutcome | undefined
  let failed = false

  onHeaders(res, () => {
    if (failed) return
    // Headers before `res.end` (a `res.write`): as express-session, no cookie for a session the
    // app removed (`req.session = null`) or a `req.sessionID` it overwrote with a non-string.
    if (!outcome && !presentsSession(ctx)) return
    try {
      const cookie = outcome ? outcome.cookie : ctx.lifecycle.preview().cookie
      // express-session's serialize error (an invalid expiry): no cookie, the error to next(err),
      // wherever the peer would send one (an invalid expiry is no browser-session cookie to it).
      const invalid = ctx.cookieError()
      if (invalid && (cookie?.action === 'set' || rolling || ctx.lifecycle.isModified())) throw invalid
      if (cookie) res.appendHeader('Set-Cookie', serialize(cookie, resolver, name, ctx.lifecycle.secure))
    } catch (err) {
      setImmediate(next, err)
    }
  })

  /** The error handler answers instead: nothing of the app's response was sent. */
  const answerWithError = (err: unknown) => {
    failed = true
    dropAppEntity(res)
    res.end = function end(this: ServerResponse, ...args: any[]) {
      // The app's own `res.end` after the error handler's answer goes nowhere.
      if (res.writableEnded) return this
      return (realEnd as Function).apply(this, args)
    } as ServerResponse['end']
    next(err)
  }

  const gate = confirmCookies
    ? gateHeaders(
        res,
        () =>
          !ctx.ended &&
          !failed &&
          presentsSession(ctx) &&
          cookiesUnsaved(ctx, ctx.lifecycle.preview().cookie),
        () => ctx.save(),
        answerWithError,
      )
    : undefined

  res.end = function end(this: ServerResponse, ...args: any[]) {
    if (ctx.ended) return false as unknown as ServerResponse
    if (gate?.waiting) {
      // A streamed response whose session is being saved before its headers: end after them
      // (through this function: a patch the app put on top of it already ran).
      gate.defer(() => end.apply(this, args))
      return this
    }
    ctx.ended = true
    let [chunk, encoding, callback] = args
    if (typeof chunk === 'function') [callback, chunk, encoding] = [chunk, undefined, undefined]
    else if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined]
    const finish = (rest: unknown) =>
      rest === undefined
        ? (realEnd as Function).call(res, callback)
        : (realEnd as Function).call(res, rest, encoding, callback)

    let rest = chunk
    let thaw: (() => void) | undefined
    if (!res.headersSent) {
      let end: ReturnType<RequestContext['prepareEnd']>
      try {
        end = ctx.prepareEnd()
      } catch (err) {
        // Nothing is sent yet: the error handler answers instead.
        failed = true
        dropAppEntity(res)
        res.end = realEnd
        next(err)
        return this
      }
      if (end.outcome) {
        // Nothing to save, touch or delete: one write, the cookie (if any) from the outcome.
        outcome = end.outcome
        finish(rest)
        return this
      }
      const predicted = end.cookie
      const waitForStore =
        predicted?.action === 'set' &&
        (confirmCookies ||
          // The presented id again (it may be gone by now), or an app-made id (it may be taken).
          predicted.id === ctx.lifecycle.presentedId ||
          (ctx.lifecycle.isNew && customIds))
      if (waitForStore) thaw = freezeHeaders(res)
      else rest = writeAllButLast(res, realWrite, chunk, encoding)
    }
    ctx.finish().then(
      (result) => {
        outcome = result
        thaw?.()
        finish(rest)
      },
      (err: unknown) => {
        thaw?.()
        if (res.headersSent) {
          finish(rest)
          setImmediate(next, err)
          return
        }
        failed = true
        dropAppEntity(res)
        res.end = realEnd
        next(err)
      },
    )
    return this
  } as ServerResponse['end']
}

/**
 * The error handler answers instead of the app's response: the headers describing the app's
 * body go (its `Content-Length` would otherwise stay, and a handler ending with no body of its
 * own, `res.status(err.statusCode).end()`, would promise bytes it never sends: the client sees
 * a dropped connection). What `res.send` sets again is set again.
 */
function dropAppEntity(res: ServerResponse): void {
  if (res.headersSent) return
  for (const name of ['Content-Length', 'Content-Type', 'Content-Encoding', 'ETag', 'Transfer-Encoding'])
    res.removeHeader(name)
}

/** The request still has the session it began with (express-session cookies nothing else). */
function presentsSession(ctx: RequestContext): boolean {
  return ctx.req.session != null && typeof ctx.req.sessionID === 'string'
}

/** The cookie would name a session the store does not hold yet: new, or under a changed id. */
function cookiesUnsaved(ctx: RequestContext, cookie: CookieInstruction | undefined): boolean {
  return cookie?.action === 'set' && cookie.id !== ctx.lifecycle.session.storedId
}

/** Sends the headers and all of `chunk` but its last byte (when the length is known); answers what is left. */
function writeAllButLast(
  res: ServerResponse,
  write: ServerResponse['write'],
  chunk: unknown,
  encoding: unknown,
): unknown {
  res.writeHead(res.statusCode)
  if (chunk === undefined || chunk === null) return undefined
  const length = Number(res.getHeader('Content-Length'))
  const bytes = Buffer.isBuffer(chunk)
    ? chunk
    : typeof chunk === 'string'
      ? Buffer.from(chunk, (encoding as BufferEncoding | undefined) ?? 'utf8')
      : Buffer.from(chunk as Uint8Array)
  if (length > 0 && bytes.length > 0) {
    ;(write as Function).call(res, bytes.subarray(0, bytes.length - 1))
    return bytes.subarray(bytes.length - 1)
  }
  ;(write as Function).call(res, bytes)
  return undefined
}

function serialize(
  cookie: CookieInstruction,
  resolver: CookieIdResolver,
  name: string,
  secure: boolean,
): string {
  if (cookie.action === 'clear')
    return serializeCookie(name, '', cookie.attributes, { secure, expires: new Date(0) })
  return serializeCookie(name, resolver.wrap(cookie.value ?? cookie.id), cookie.attributes, {
    secure,
    expires: cookie.expires,
  })
}
