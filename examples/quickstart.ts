/**
 * Two Express servers share one session store, as two instances behind a load balancer
 * would. A user logs in on server A; the next request lands on server B and the user is
 * still logged in. "Log out everywhere" on B ends the session A issued.
 *
 * In production the store is shared across processes: `new RedisStore({ client })`.
 */
import type { AddressInfo } from 'node:net'
import session from '@sessionkit/express'
import { MemoryStore } from '@sessionkit/memory'
import express from 'express'

declare module '@sessionkit/express' {
  interface SessionData {
    user: string
    visits: number
  }
}

const store = new MemoryStore()

function server(name: string) {
  const app = express()
  app.use(session({ secret: 'example secret', resave: false, saveUninitialized: false, store }))
  app.post('/login', async (req, res) => {
    await req.session.changeId() // against session fixation: new id, same data
    req.session.user = 'ann'
    req.session.setPrincipal('ann')
    res.send(`${name}: logged in as ann`)
  })
  app.get('/me', (req, res) => {
    req.session.visits = (req.session.visits ?? 0) + 1
    res.send(`${name}: ${req.session.user ?? 'nobody'} (visit ${req.session.visits})`)
  })
  app.post('/logout-everywhere', async (req, res) => {
    const ended = await req.session.revokeAll()
    res.send(`${name}: ended ${ended} session(s) of ann`)
  })
  return new Promise<{ url: string; close: () => void }>((resolve) => {
    const listener = app.listen(0, '127.0.0.1', () => {
      const { port } = listener.address() as AddressInfo
      resolve({ url: `http://127.0.0.1:${port}`, close: () => listener.close() })
    })
  })
}

const servers = [await server('server A'), await server('server B')]
let next = 0
let cookie = ''
// A round-robin balancer: each request goes to the next server.
async function request(method: string, path: string) {
  const target = servers[next++ % servers.length]!
  const res = await fetch(target.url + path, { method, headers: { cookie } })
  const setCookie = res.headers.get('set-cookie')
  if (setCookie) cookie = setCookie.split(';')[0]!
  console.log(`${method} ${path.padEnd(19)} → ${await res.text()}`)
}

await request('POST', '/login')
await request('GET', '/me')
await request('GET', '/me')
await request('POST', '/logout-everywhere')
await request('GET', '/me')

for (const s of servers) s.close()
await store.close()
