import { createRequire } from 'node:module'
import session from '@sessionkit/express'
import { RedisStore } from '@sessionkit/redis'
import { type RedisServer, startRedis } from '@sessionkit/test-servers'
import { Redis } from 'ioredis'
import type request from 'supertest'

const require = createRequire(import.meta.url)

/** The real express-session 1.19 (untyped here: its @types would redeclare `req.session`). */
export const expressSession: (options: any) => any = require('express-session')

/** `session(options)` of one implementation, as an app would call it. */
export type SessionFactory = (options: any) => any

/**
 * One redis-server per test file, and the same app on three middlewares: the real
 * express-session (a test passing there proves the test), ours with its default store, and
 * ours on a sessionkit Redis store (proving the drop-in on both kinds of store).
 */
export function implementations() {
  let server: RedisServer | undefined
  let client: Redis | undefined
  let n = 0
  const list: [string, SessionFactory][] = [
    ['express-session', expressSession],
    ['@sessionkit/express', session],
    [
      '@sessionkit/express + @sessionkit/redis',
      (options: any) => {
        if (!client) throw new Error('call start() in beforeAll')
        return session({ ...options, store: new RedisStore({ client, prefix: `app${++n}:` }) })
      },
    ],
  ]
  return {
    list,
    async start() {
      server = await startRedis()
      client = new Redis(server.port, server.host)
    },
    async stop() {
      client?.disconnect()
      await server?.stop()
    },
  }
}

/** The session cookie's `name=value` pair, if the response set one. */
export function sessionCookie(res: request.Response, name = 'connect.sid'): string | undefined {
  return setCookieLine(res, name)?.split(';')[0]
}

/** The full Set-Cookie line of the session cookie. */
export function setCookieLine(res: request.Response, name = 'connect.sid'): string | undefined {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined
  return header?.find((c) => c.startsWith(`${name}=`))
}

/** The session id inside a `connect.sid=s%3A<id>.<sig>` pair. */
export function idOf(cookie: string | undefined): string | undefined {
  if (!cookie) return undefined
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1))
  return value.slice(2, value.lastIndexOf('.'))
}
