import { isSetupKind, type SetupKind, sessionData, user } from '../fixtures'

/**
 * The four routes every server has, written once over a plain attribute bag so that the
 * Express, Koa and Fastify apps (peer or ours) do exactly the same work per request.
 */
export type Attributes = Record<string, unknown>

/** `GET /setup/<kind>`: fills the session; the harness keeps the cookie it gets back. */
export function setup(session: Attributes, kind: string): SetupKind {
  if (!isSetupKind(kind)) throw new Error(`unknown setup kind ${kind}`)
  Object.assign(session, sessionData(kind))
  return kind
}

/** `GET /read`: an authenticated read of one attribute. */
export function read(session: Attributes | undefined): string {
  const current = session?.user as { name?: string } | undefined
  return current?.name ?? 'anonymous'
}

/** `GET /write`: one small attribute changes. */
export function write(session: Attributes): string {
  session.count = ((session.count as number | undefined) ?? 0) + 1
  return String(session.count)
}

/** `GET /new` (no cookie): a login, so every request creates and stores a new session. */
export function login(session: Attributes): string {
  session.user = user
  return 'created'
}
