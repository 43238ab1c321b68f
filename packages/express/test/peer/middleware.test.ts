/**
 * express-session's own test suite, side by side. Here: the middleware as a whole: secrets, loading, store errors.
 * Each scenario runs on express-session and on @sessionkit/express; what the client, the store
 * and the server's error channel saw must be the same. The scenarios follow the peer's tests
 * (none of its code).
 */
import { describe } from 'vitest'
import {
  cb,
  cookieOf,
  counter,
  createServer,
  get,
  lengthOf,
  record,
  seen,
  sideBySide,
  sidOf,
} from './harness'

describe('the middleware', () => {
  sideBySide({
    'does nothing when req.session exists': async (impl) => {
      const s = createServer(impl, {}, undefined, (req) => {
        req.session = {}
      })
      return seen(await get(s))
    },
    'errors without a secret': async (impl) => seen(await get(createServer(impl, { secret: undefined }))),
    'takes the secret from req.secret': async (impl) => {
      const s = createServer(impl, { secret: undefined }, undefined, (req) => {
        req.secret = 'keyboard cat'
      })
      return seen(await get(s))
    },
    'creates a session and stores it': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, (req, res) => {
        req.session.active = true
        res.end('session active')
      })
      return [seen(await get(s)), await lengthOf(store)]
    },
    'loads the session of the cookie': async (impl) => {
      const s = createServer(impl, {}, counter())
      const first = await get(s)
      return [seen(first), seen(await get(s, '/', cookieOf(first)))]
    },
    "passes a get error on (500 with the store's message)": async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, (_req, res) => res.end('hello, world'))
      store.get = (_sid: string, done: (err: Error) => void) => done(new Error('boom!'))
      const first = await get(s)
      return [seen(first), seen(await get(s, '/', cookieOf(first)))]
    },
    'treats ENOENT from get as not found': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, counter())
      store.get = (_sid: string, done: (err: Error) => void) =>
        done(Object.assign(new Error('boom!'), { code: 'ENOENT' }))
      const first = await get(s)
      return [seen(first), seen(await get(s, '/', cookieOf(first)))]
    },
    'creates one session per cookie-less request': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, (req, res) => {
        const isNew = req.session.num === undefined
        req.session.num = 1
        res.end(isNew ? 'created' : 'updated')
      })
      const both = await Promise.all([get(s), get(s)])
      return [both.map(seen), Object.keys(await cb<object>((done) => store.all(done))).length]
    },
    'handles an empty req.url': async (impl) =>
      seen(
        await get(
          createServer(impl, {}, undefined, (req) => {
            req.url = ''
          }),
        ),
      ),
    'handles several res.end calls': async (impl) => {
      const s = createServer(impl, {}, (_req, res) => {
        res.setHeader('Content-Type', 'text/plain')
        res.end('Hello, world!')
        res.end()
      })
      const res = await get(s)
      return [seen(res), res.headers['content-type']]
    },
    'handles res.end(null)': async (impl) =>
      seen(await get(createServer(impl, {}, (_req, res) => res.end(null)))),
    'drops stored keys named like Session members': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, counter())
      const first = await get(s)
      const stored = await cb<any>((done) => store.get(sidOf(first), done))
      stored.save = 'nope'
      await cb((done) => store.set(sidOf(first), stored, done))
      return [seen(first), seen(await get(s, '/', cookieOf(first)))]
    },
    'has only the data and cookie enumerable': async (impl) => {
      const s = createServer(impl, {}, (req, res) => {
        req.session.test1 = 1
        req.session.test2 = 'b'
        const keys: string[] = []
        for (const key in req.session) keys.push(key)
        res.end(`${Object.keys(req.session).sort()}|${keys.sort()}`)
      })
      return seen(await get(s))
    },
    'saves nothing with a bogus req.sessionID': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, (req, res) => {
        req.sessionID = () => {}
        req.session.test1 = 1
        res.end()
      })
      return [seen(await get(s)), await lengthOf(store)]
    },
  })
})

describe('loading', () => {
  sideBySide({
    'a sid not in the store starts a new session with a new id': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store }, counter())
      const first = await get(s)
      await cb((done) => store.clear(done))
      const second = await get(s, '/', cookieOf(first))
      return [seen(first), seen(second), sidOf(second) !== sidOf(first)]
    },
    'an unsigned sid starts a new session without asking the store': async (impl) => {
      const store = new impl.MemoryStore()
      const calls: string[] = []
      const s = createServer(impl, { store, name: 'sessid' }, counter())
      const first = await get(s)
      record(store, calls)
      const second = await get(s, '/', `sessid=${sidOf(first)}`)
      const forged = await get(s, '/', cookieOf(first).replace(/...\./, '.'))
      return [seen(first), seen(second), seen(forged), sidOf(second) !== sidOf(first), calls]
    },
    'an expired session starts a new one and is gone from the store': async (impl) => {
      const store = new impl.MemoryStore()
      const s = createServer(impl, { store, cookie: { maxAge: 5 } }, counter())
      const first = await get(s)
      await new Promise((resolve) => setTimeout(resolve, 20)) // the session must outlive its maxAge
      const second = await get(s, '/', cookieOf(first))
      const all = await cb<object>((done) => store.all(done))
      return [seen(first), seen(second), sidOf(second) !== sidOf(first), sidOf(first) in all]
    },
  })
})
