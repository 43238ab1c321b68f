import express, { type Express, type NextFunction, type Request, type Response } from 'express'
import request from 'supertest'
import session, { type SessionOptions } from '../src/index'

export const SECRET = 'keyboard cat'

/** An app with our middleware and an error handler that reports status and message. */
export function makeApp(
  options: SessionOptions,
  routes: (app: Express) => void,
  before?: (app: Express) => void,
): Express & { middleware: ReturnType<typeof session> } {
  const app = express() as Express & { middleware: ReturnType<typeof session> }
  before?.(app)
  app.middleware = session({ secret: SECRET, resave: false, saveUninitialized: false, ...options })
  app.use(app.middleware)
  routes(app)
  app.use((err: any, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err.statusCode ?? err.status ?? 500).send(`error: ${err.message}`)
  })
  return app
}

/** The `name=value` part of the session cookie a response set, or undefined. */
export function sessionCookie(res: request.Response, name = 'connect.sid'): string | undefined {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined
  const line = header?.find((c) => c.startsWith(`${name}=`))
  return line?.split(';')[0]
}

/** The full Set-Cookie line of the session cookie. */
export function setCookieLine(res: request.Response, name = 'connect.sid'): string | undefined {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined
  return header?.find((c) => c.startsWith(`${name}=`))
}

/** A promise with its resolver, to make "slow" deterministic. */
export function gate<T = void>(): { promise: Promise<T>; open: (value?: T) => void } {
  let open!: (value?: T) => void
  const promise = new Promise<T>((resolve) => {
    open = (value) => resolve(value as T)
  })
  return { promise, open }
}

export { request }
