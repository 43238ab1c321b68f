/**
 * CommonJS as express-session's users write it in TypeScript: `require()` returns the
 * middleware, with the classes and the types on it (`export =`, as @types/express-session
 * has it). Compiled by the consumer check in the nodenext CommonJS setup and run with node.
 */
import assert = require('node:assert/strict')
import express = require('express')
import session = require('@sessionkit/express')

// Declaration merging through `export =`: the namespace's SessionData is the one
// req.session is typed with.
declare module '@sessionkit/express' {
  interface SessionData {
    cartId: string
  }
}

/** A connect store of the app's own. */
class MapStore extends session.Store {
  readonly rows = new Map<string, session.SessionData>()
  get(sid: string, callback: (err: unknown, data?: session.SessionData | null) => void): void {
    callback(null, this.rows.get(sid) ?? null)
  }
  set(sid: string, data: session.SessionData, callback?: (err?: unknown) => void): void {
    this.rows.set(sid, data)
    callback?.()
  }
  destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.rows.delete(sid)
    callback?.()
  }
}

const options: session.SessionOptions = {
  secret: 's',
  resave: false,
  saveUninitialized: false,
  store: new session.MemoryStore(),
}
const cookie: session.CookieOptions = { maxAge: 60_000, sameSite: 'lax' }
const memory: session.MemoryStore = new session.MemoryStore()
const base: session.Store = new MapStore()
const middleware: session.SessionMiddleware = session({ ...options, store: memory })

const app = express()
app.use(middleware)
app.use(session(options))
app.use(session({ ...options, cookie, store: base }))
app.get('/', (req, res) => {
  req.session.cartId = 'c1'
  const cart: string | undefined = req.session.cartId
  const s: session.Session = req.session
  const c: session.Cookie = req.session.cookie
  res.json({ cart, id: s.id, maxAge: c.maxAge })
})

// The same function under `default`, as `import session from` reads it with esModuleInterop.
const viaDefault: typeof session = session.default
assert.equal(typeof session, 'function')
assert.equal(viaDefault, session)
assert.ok(memory instanceof session.MemoryStore)
assert.ok(base instanceof session.Store)
assert.equal(typeof middleware.repository.destroyAllFor, 'function')

/** Type errors (each fails the check if the types degrade to `any`); never called. */
export function mistakes(): unknown[] {
  return [
    // @ts-expect-error: secret is a string
    session({ secret: 42 }),
    // @ts-expect-error: no such option
    { secret: 's', bogus: true } satisfies session.SessionOptions,
    // @ts-expect-error: not a Store
    { store: 42 } satisfies session.SessionOptions,
  ]
}
