/**
 * A TypeScript app written for koa-session, unchanged, with `"koa-session": "npm:@sessionkit/koa"`
 * in its package.json (here: tsconfig `paths`). Session data typed by declaration merging on
 * the module name the app imports. `tsc -p test/alias/tsconfig.json` checks it (the
 * `@ts-expect-error` lines fail the typecheck if the typing loosens).
 */
import Koa from 'koa'
import session, { type CreateSessionOptions, SessionOptions } from 'koa-session'

declare module 'koa-session' {
  interface SessionData {
    userId: string
    views: number
  }
}

const CONFIG: SessionOptions = {
  key: 'koa.sess',
  maxAge: 86_400_000,
  autoCommit: true,
  overwrite: true,
  httpOnly: true,
  signed: true,
  rolling: false,
  renew: false,
  secure: false,
  sameSite: 'lax',
}

export const app = new Koa()
app.keys = ['some secret hurr']
app.use(session(CONFIG, app))
app.use(session(app, { key: 'other' }))
// koa-session 7 exports its options schema under the type's name.
const parsed: CreateSessionOptions = SessionOptions.parse({ maxAge: 'session' })
const key: string = SessionOptions.parse(CONFIG).key
void [parsed, key]
app.use(async (ctx, next) => {
  ctx.session.views = (ctx.session.views ?? 0) + 1
  const id: string | undefined = ctx.session.userId
  // @ts-expect-error: views is a number
  ctx.session.views = 'many'
  const plain: Record<string, unknown> = ctx.session.toJSON()
  const n: number = ctx.session.length
  const populated: boolean = ctx.session.populated
  const isNew: boolean = ctx.session.isNew
  ctx.session.maxAge = 'session'
  await ctx.session.save()
  await ctx.session.regenerate()
  await ctx.session.manuallyCommit()
  ctx.session.save(() => {})
  ctx.session = { userId: 'u1' }
  ctx.session = null
  void ctx.sessionOptions.key
  void [id, plain, n, populated, isNew]
  await next()
})
