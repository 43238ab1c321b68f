import type { FastifyRequest } from 'fastify'
import { type CookieOptions, restoredCookieOptions } from './cookie'
import { type Context, createSession, FastifySession } from './session'

/**
 * The session a signed id (without prefix) names: loaded when valid and live, else a new one.
 * A store failure rejects, so the request fails instead of logging the user out.
 */
export async function loadSession(
  ctx: Context,
  request: FastifyRequest,
  encryptedId: string,
  cookieOptions: CookieOptions,
): Promise<FastifySession> {
  const id = ctx.signer.unsign(encryptedId)
  if (id === false) return createSession(ctx, request, cookieOptions)
  const core = await ctx.repository.load(id)
  if (!core) return createSession(ctx, request, cookieOptions, id)
  const restored = restoredCookieOptions(cookieOptions, (core.data as { cookie?: unknown }).cookie)
  const session = new FastifySession(ctx, request, core, restored)
  const until = session.cookie.originalExpires
  if (until && until.getTime() <= Date.now()) {
    // An absolute `expires` has passed: @fastify/session ends such a session.
    core.destroy()
    await ctx.repository.save(core)
    return createSession(ctx, request, cookieOptions, id)
  }
  return session
}
