// koa-csrf and koa-passport ship no types and their @types are not installed: the
// declarations an app without them writes.
declare module 'koa-csrf' {
  import type { Middleware } from 'koa'

  const CSRF: new (options?: object) => Middleware
  export = CSRF
}

declare module 'koa-passport' {
  import type { Middleware } from 'koa'

  type Done = (err: unknown, value?: unknown) => void
  interface KoaPassport {
    use(strategy: unknown): this
    serializeUser(fn: (user: any, done: Done) => void): void
    deserializeUser(fn: (id: any, done: Done) => void): void
    initialize(): Middleware
    session(): Middleware
    authenticate(strategy: string, callback?: (...args: any[]) => unknown): Middleware
  }
  const passport: KoaPassport & { KoaPassport: new () => KoaPassport }
  export = passport
}
