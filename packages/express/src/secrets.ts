import type { Secret } from '@sessionkit/core'

/**
 * A value derived from the `secret` option (the cookie resolver and its signer), re-derived
 * only when the secrets change. express-session reads its `secret` array on every request, so
 * an app drops a leaked secret by mutating the array it passed (`secrets.pop()`,
 * `secrets.unshift(fresh)`): reading it per request keeps that working, and comparing it with
 * a snapshot (strings by value, bytes by content) keeps the HMAC keys from being re-derived
 * on requests where nothing changed.
 *
 * @example
 * ```ts
 * const resolvers = new PerSecrets((list) => new CookieIdResolver({ secret: list, name }))
 * const resolver = resolvers.for(options.secret) // same instance until the array changes
 * ```
 */
export class PerSecrets<T> {
  readonly #derive: (secrets: Secret[]) => T
  /** A copy of the secrets `#value` was derived from (bytes copied: a Buffer can change in place). */
  #snapshot: Secret[] | undefined
  #value: T | undefined

  constructor(derive: (secrets: Secret[]) => T) {
    this.#derive = derive
  }

  /** The value for these secrets (one secret or an array of them), as they are now. */
  for(source: Secret | readonly Secret[]): T {
    const list = Array.isArray(source) ? (source as readonly Secret[]) : [source as Secret]
    if (this.#snapshot === undefined || !sameSecrets(this.#snapshot, list)) {
      // Derive first: secrets that fail (an emptied array) leave the last good state cached.
      const value = this.#derive([...list])
      this.#snapshot = list.map(copyOf)
      this.#value = value
    }
    return this.#value as T
  }
}

function sameSecrets(snapshot: readonly Secret[], list: readonly Secret[]): boolean {
  if (snapshot.length !== list.length) return false
  for (let i = 0; i < list.length; i++) if (!sameSecret(snapshot[i]!, list[i]!)) return false
  return true
}

function sameSecret(known: Secret, now: Secret): boolean {
  if (known instanceof Uint8Array && now instanceof Uint8Array)
    return known.length === now.length && Buffer.compare(known, now) === 0
  return known === now
}

function copyOf(secret: Secret): Secret {
  return secret instanceof Uint8Array ? Buffer.from(secret) : secret
}
