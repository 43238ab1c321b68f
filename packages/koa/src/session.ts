import { inspect } from 'node:util'
import { SessionError } from '@sessionkit/core'
import type { AnyContext, ResolvedOptions } from './options'

/** What `commit()` may be asked to do beyond the usual save decision. */
export interface CommitRequest {
  /** Save even when nothing changed. */
  save?: boolean
  /** Remove the old session and save the same data under a new key. */
  regenerate?: boolean
}

/** What sessionkit adds with a sessionkit store; absent in cookie mode and with koa-session stores. */
export interface SessionkitFeatures {
  changeId(): Promise<string>
  setPrincipal(principal: string | undefined): void
  readonly principal: string | undefined
  revokeAll(options?: { exceptCurrent?: boolean }): Promise<number>
}

/** The per-request controller a {@link Session} reports to. */
export interface SessionHost {
  readonly ctx: AnyContext
  /** The request's copy of the options (`ctx.sessionOptions`). */
  readonly options: ResolvedOptions
  commit(request?: CommitRequest): Promise<void>
  readonly sessionkit?: SessionkitFeatures
  /** The current id, where it can change under the session (`changeId`). */
  readonly currentKey?: string
}

type Callback = (err?: Error) => void

/**
 * `ctx.session`: the data as its own properties, plus koa-session's members. Its own
 * enumerable properties are those of koa-session's instances (`isNew`, `_requireSave`,
 * `_expire`, then the data); `toJSON()` is what gets saved.
 */
export class Session {
  /** True for a session made on this request (none was loaded). */
  isNew = false
  /** Set when `maxAge` changes: the next commit saves whatever else changed. */
  _requireSave = false
  /** Expiry (epoch ms) of the session as loaded. */
  _expire: number | undefined = undefined
  readonly #host: SessionHost
  readonly #externalKey: string | undefined

  constructor(host: SessionHost, data?: Record<string, unknown> | null, externalKey?: string) {
    this.#host = host
    this.#externalKey = externalKey
    if (!data) {
      this.isNew = true
      return
    }
    for (const name in data) {
      if (name === '_maxAge') host.options.maxAge = data._maxAge as number
      else if (name === '_session') host.options.maxAge = 'session'
      // A key that would replace this object's prototype is never data.
      else if (name !== '__proto__') Reflect.set(this, name, data[name])
    }
  }

  /** The data: no `isNew`, no `_`-prefixed keys, no functions. */
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = {}
    for (const name in this) {
      if (name === 'isNew' || name[0] === '_') continue
      const value = (this as Record<string, unknown>)[name]
      if (typeof value !== 'function') json[name] = value
    }
    return json
  }

  [inspect.custom](): Record<string, unknown> {
    return this.toJSON()
  }

  /** How many data keys the session holds. */
  get length(): number {
    return Object.keys(this.toJSON()).length
  }

  /** True when the session holds any data. */
  get populated(): boolean {
    return this.length > 0
  }

  /** This session's lifetime (ms or `'session'`); setting it makes the next commit save. */
  get maxAge(): number | 'session' | undefined {
    return this.#host.options.maxAge
  }

  set maxAge(value: number | 'session' | undefined) {
    this.#host.options.maxAge = value
    this._requireSave = true
  }

  /** The session's id in the store; `undefined` in cookie mode. */
  get externalKey(): string | undefined {
    return this.#host.currentKey ?? this.#externalKey
  }

  /** Saves now, changed or not. */
  save(callback?: Callback): Promise<void> | undefined {
    return this.commit({ save: true }, callback)
  }

  /** Now: removes the session from the store and saves the same data under a new key. */
  regenerate(callback?: Callback): Promise<void> | undefined {
    return this.commit({ regenerate: true }, callback)
  }

  /** Commits now (with `autoCommit: false`). */
  manuallyCommit(): Promise<void> {
    return this.#host.commit()
  }

  /** Commits now: saves when needed (or as `request` asks), and sets the cookie. */
  commit(request?: CommitRequest | Callback, callback?: Callback): Promise<void> | undefined {
    if (typeof request === 'function') return this.commit({}, request)
    const done = this.#host.commit(request ?? {})
    if (!callback) return done
    done.then(() => callback(), callback)
    return undefined
  }

  // sessionkit, with a sessionkit store

  /** New id, same data, old id revoked now: call it at login, against session fixation. */
  changeId(): Promise<string> {
    return this.#features('changeId').changeId()
  }

  /** Names the session's owner (e.g. a user id) so `revokeAll` can find every session of it. */
  setPrincipal(principal: string | undefined): void {
    this.#features('setPrincipal').setPrincipal(principal)
  }

  /** The session's owner set by `setPrincipal` (a method, so `principal` stays free for data). */
  getPrincipal(): string | undefined {
    return this.#host.sessionkit?.principal
  }

  /** Deletes every session of this session's principal (optionally not this one); answers how many. */
  revokeAll(options?: { exceptCurrent?: boolean }): Promise<number> {
    return this.#features('revokeAll').revokeAll(options)
  }

  #features(member: string): SessionkitFeatures {
    const features = this.#host.sessionkit
    if (!features) {
      throw new SessionError(
        'NOT_SUPPORTED',
        `session.${member}() needs a sessionkit store: pass one as \`store\` (MemoryStore, RedisStore, DynamoDBStore or PostgresStore from @sessionkit/*); in cookie mode and with a koa-session store it does not exist`,
      )
    }
    return features
  }
}
