// @ts-check
/**
 * Plain CommonJS with editor types (checkJs): `require()` returns the middleware, as with
 * express-session and koa-session. Type-checked by the consumer check in the nodenext
 * CommonJS setup and run with node.
 */
const assert = require('node:assert/strict')
const express = require('express')
const Koa = require('koa')
const session = require('@sessionkit/express')
const koaSession = require('@sessionkit/koa')

/** @type {session.SessionOptions} */
const options = { secret: 's', resave: false, saveUninitialized: false, store: new session.MemoryStore() }
const app = express()
app.use(session(options))
app.use(session({ ...options, store: new session.MemoryStore() }))

const koa = new Koa()
koa.keys = ['k']
koa.use(koaSession({}, koa))
koa.use(koaSession(koa, koaSession.SessionOptions.parse({ maxAge: 60_000 })))

assert.equal(typeof session, 'function')
assert.equal(typeof koaSession, 'function')

/** Type errors (each fails the check if the types degrade to `any`); never called. */
function mistakes() {
  return [
    // @ts-expect-error: secret is a string
    session({ secret: 42 }),
    // @ts-expect-error: an app is required
    koaSession({}),
  ]
}
module.exports = { mistakes }
