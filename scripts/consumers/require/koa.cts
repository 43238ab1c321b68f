/**
 * CommonJS as koa-session's users write it in TypeScript: `require()` returns the middleware
 * factory, with the options schema and the types on it. Compiled by the consumer check in the
 * nodenext CommonJS setup and run with node.
 */
import assert = require('node:assert/strict')
import Koa = require('koa')
import session = require('@sessionkit/koa')

declare module '@sessionkit/koa' {
  interface SessionData {
    visits: number
  }
}

const parsed: session.ParsedSessionOptions = session.SessionOptions.parse({ maxAge: 60_000 })
const options: session.SessionOptions = { ...parsed, key: 'app.sess' }
const app = new Koa()
app.keys = ['k']
const middleware: session.SessionMiddleware = session({}, app)
app.use(middleware)
app.use(session(app, options))
app.use((ctx) => {
  ctx.session.visits = (ctx.session.visits ?? 0) + 1
  const visits: number | undefined = ctx.session.visits
  ctx.body = { visits }
})

const viaDefault: typeof session = session.default
assert.equal(typeof session, 'function')
assert.equal(viaDefault, session)
assert.equal(session.createSession, session)
assert.equal(parsed.maxAge, 60_000)
assert.equal(typeof session.Session, 'function')

/** Type errors (each fails the check if the types degrade to `any`); never called. */
export function mistakes(): unknown[] {
  return [
    // @ts-expect-error: an app is required
    session({}),
    // @ts-expect-error: maxAge is a number or 'session'
    { maxAge: true } satisfies session.SessionOptions,
  ]
}
