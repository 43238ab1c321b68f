import { type Codec, jsonCodec } from './codec'
import {
  type CookieSettings,
  checkMaxAge,
  restoreCookieSettings,
  storedCookieSettings,
} from './lifecycle/cookie-settings'
import type { SessionRecord, SessionStore } from './types'

type Callback<T = void> = ((err: any, value?: T) => void) | undefined

/** The connect-store methods a sessionkit store gets from {@link connectFace}. */
export interface ConnectFace {
  get(
    sid: string,
    callback?: Callback<Record<string, unknown> | null>,
  ): Promise<Record<string, unknown> | null>
  set(sid: string, session: Record<string, unknown>, callback?: Callback): Promise<void>
  destroy(sid: string, callback?: Callback): Promise<void>
  touch(sid: string, session: Record<string, unknown>, callback?: Callback): Promise<void>
}

const DAY = 86_400_000
// express-session's Cookie defaults: what a stored session's cookie shows when it overrides nothing.
const DEFAULTS: CookieSettings = { originalMaxAge: null, path: '/', httpOnly: true }

/**
 * A connect store method's answer: the promise (connect-redis' style, since v8) and, when
 * given, the callback (`null` error on success). A promise nobody awaits never becomes an
 * unhandled rejection.
 */
export function reportToConnectCallback<T>(
  promise: Promise<T>,
  callback: Callback<T> | undefined,
): Promise<T> {
  if (typeof callback === 'function')
    promise.then(
      (value) => callback(null, value),
      (err) => callback(err),
    )
  else promise.catch(() => {})
  return promise
}

/**
 * Connect-store methods (`get`, `set`, `destroy`, `touch`, callback or promise) over a
 * sessionkit store, for apps that call `req.sessionStore.get(sid, cb)` and friends. Sessions
 * come out in the peers' shape (data keys plus `cookie` with `expires`); `set` writes only
 * the attributes that differ from what is stored.
 *
 * @example
 * ```ts
 * const face = connectFace(new RedisStore({ client }))
 * face.get(sid, (err, session) => socket.data.user = session?.user)
 * ```
 */
export function connectFace(store: SessionStore, options: { codec?: Codec } = {}): ConnectFace {
  const codec = options.codec ?? jsonCodec
  return {
    get: (sid, callback) =>
      reportToConnectCallback(
        store.load(sid).then((record) => (record ? toObject(record, codec) : null)),
        callback as Callback<Record<string, unknown> | null>,
      ),
    set: (sid, session, callback) => reportToConnectCallback(write(store, codec, sid, session), callback),
    destroy: (sid, callback) => reportToConnectCallback(store.delete(sid), callback),
    touch: (sid, session, callback) => {
      const cookie = (session?.cookie ?? {}) as { expires?: unknown; originalMaxAge?: unknown }
      const now = Date.now()
      const expiresAt = expiryOf(cookie, now)
      return reportToConnectCallback(
        store.touch(sid, { lastAccessedAt: now, expiresAt }).then(() => undefined),
        callback,
      )
    },
  }
}

/** A stored record in the peers' shape. */
export function toObject(record: SessionRecord, codec: Codec = jsonCodec): Record<string, unknown> {
  const object: Record<string, unknown> = {}
  let stored: unknown
  for (const [name, text] of Object.entries(record.attributes)) {
    if (name === '__proto__') continue
    if (name === 'cookie') stored = codec.decode(text)
    else object[name] = codec.decode(text)
  }
  const settings = restoreCookieSettings(DEFAULTS, stored)
  return {
    cookie: {
      originalMaxAge: settings.originalMaxAge,
      partitioned: settings.partitioned,
      priority: settings.priority,
      expires: settings.originalMaxAge === null ? null : new Date(record.expiresAt).toISOString(),
      secure: settings.secure,
      httpOnly: settings.httpOnly,
      domain: settings.domain,
      path: settings.path,
      sameSite: settings.sameSite,
    },
    ...object,
  }
}

function expiryOf(cookie: { expires?: unknown; originalMaxAge?: unknown }, now: number): number {
  const expires = cookie.expires ? new Date(cookie.expires as string).getTime() : Number.NaN
  if (Number.isFinite(expires)) return expires
  return now + (checkMaxAge(cookie.originalMaxAge) ?? DAY)
}

/** An upsert of a whole session, written as a delta against what is stored. */
async function write(
  store: SessionStore,
  codec: Codec,
  sid: string,
  session: Record<string, unknown>,
): Promise<void> {
  const cookie = (session?.cookie ?? {}) as Record<string, unknown>
  const settings: CookieSettings = { ...DEFAULTS, originalMaxAge: checkMaxAge(cookie.originalMaxAge) }
  for (const key of [
    'path',
    'domain',
    'httpOnly',
    'secure',
    'sameSite',
    'partitioned',
    'priority',
  ] as const) {
    const value = cookie[key]
    if (value !== undefined && value !== null) (settings as unknown as Record<string, unknown>)[key] = value
    else delete settings[key]
  }
  const attributes: Record<string, string> = {}
  for (const key of Object.keys(session)) {
    // `__sessionkit`: the metadata fromCallbackStore adds, not session data.
    if (key === 'cookie' || key === '__sessionkit') continue
    const text = codec.encode(session[key])
    if (text !== undefined) attributes[key] = text
  }
  attributes.cookie = codec.encode(storedCookieSettings(settings, DEFAULTS))!
  const now = Date.now()
  const maxInactiveMs = settings.originalMaxAge ?? DAY
  const expiresAt = expiryOf(cookie, now)
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await store.load(sid)
    if (current) {
      const set: Record<string, string> = {}
      for (const [name, text] of Object.entries(attributes))
        if (current.attributes[name] !== text) set[name] = text
      const removed = Object.keys(current.attributes).filter((name) => !(name in attributes))
      const meta = { createdAt: current.createdAt, lastAccessedAt: now, expiresAt, maxInactiveMs }
      if ((await store.save({ id: sid, isNew: false, meta, set, removed })) === 'saved') return
    } else {
      const meta = { createdAt: now, lastAccessedAt: now, expiresAt, maxInactiveMs, principal: null }
      if ((await store.save({ id: sid, isNew: true, meta, set: attributes, removed: [] })) === 'saved') return
    }
    // Deleted or created meanwhile: look again (an upsert has no "gone").
  }
}
