import type { CookieSettings } from '@sessionkit/core'
import type { FastifyRequest } from 'fastify'
import type { CookieOptions } from './cookie'
import { settingsFromOptions } from './cookie'
import { fixedExpiryOf } from './fixed-expiry'
import { type Context, FastifySession, kExpiredOnLoad } from './session'

// Settings of cookie options without a fixed `expires` (which counts down) are the same for
// every request: made once per options object, not per request.
const fixedSettings = new WeakMap<CookieOptions, CookieSettings>()

function settingsFor(options: CookieOptions): CookieSettings {
  if (options.expires) return settingsFromOptions(options)
  let settings = fixedSettings.get(options)
  if (!settings) {
    settings = settingsFromOptions(options)
    fixedSettings.set(options, settings)
  }
  return settings
}

/**
 * Framework glue of one request: verify the signed cookie value (without `cookiePrefix`),
 * begin core's lifecycle (loads the live session or makes a new one; a store failure
 * rejects, so the request fails instead of logging the user out), and present it as
 * @fastify/session's object.
 */
export async function openSession(
  ctx: Context,
  request: FastifyRequest,
  signedValue: string | undefined,
  cookieOptions: CookieOptions = ctx.cookie,
): Promise<FastifySession> {
  const unsigned = signedValue === undefined ? false : ctx.signer.unsign(signedValue)
  const id = unsigned === false ? undefined : unsigned
  const lifecycle = await ctx.manager.begin({
    id,
    cookie: settingsFor(cookieOptions),
    secure: (request as { protocol?: string }).protocol === 'https',
    context: request,
    // Signed with an older secret (or a custom signer asked to renew): re-issue it.
    resign: id !== undefined && ctx.signer.sign(id) !== signedValue,
    presented: signedValue !== undefined,
  })
  const fixedDate = fixedExpiryOf(cookieOptions)
  const session = new FastifySession(ctx, request, lifecycle, fixedDate)
  if (!session[kExpiredOnLoad]) return session
  // The peer regenerates a session past its fixed `expires` on load: the old record goes,
  // the request gets a new session (the store keeps lifetimes, so its expiry may be later).
  await lifecycle.regenerate()
  return new FastifySession(ctx, request, lifecycle, fixedDate)
}
