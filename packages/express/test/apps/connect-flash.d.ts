// connect-flash ships no types and @types/connect-flash is not installed: the declaration an app
// without them writes (the same shape as @types/connect-flash).
declare module 'connect-flash' {
  import type { RequestHandler } from 'express'

  function flash(options?: { unsafe?: boolean }): RequestHandler
  export = flash
}

declare namespace Express {
  interface Request {
    flash(): { [type: string]: string[] }
    flash(type: string): string[]
    flash(type: string, message: string | string[]): number
    flash(type: string, format: string, ...args: any[]): number
  }
}
