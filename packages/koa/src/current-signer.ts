import { createSigner, type Secret, type Signer } from '@sessionkit/core'

/**
 * The signer for whatever secrets the app holds now. Apps drop a leaked key by replacing
 * `app.keys` or by mutating it (koa's `ctx.cookies` builds its Keygrip per request over the
 * live array; express-session reads its `secret` array per request), so the list is looked at
 * on every call. The signer (and the HMACs it remembers) is rebuilt only when the array's
 * identity or contents differ: a per-request check of a few references.
 */
export class CurrentSigner {
  #signer: Signer | undefined
  #source: unknown
  #seen: readonly unknown[] = []

  for(secrets: Secret | readonly Secret[]): Signer {
    if (this.#signer && secrets === this.#source && sameContents(secrets, this.#seen)) return this.#signer
    // createSigner copies the list and validates it (throws INVALID_OPTIONS when empty).
    const signer = createSigner(secrets)
    this.#signer = signer
    this.#source = secrets
    this.#seen = Array.isArray(secrets) ? [...secrets] : [secrets]
    return signer
  }
}

function sameContents(secrets: Secret | readonly Secret[], seen: readonly unknown[]): boolean {
  if (!Array.isArray(secrets)) return seen.length === 1 && seen[0] === secrets
  if (secrets.length !== seen.length) return false
  for (let i = 0; i < secrets.length; i++) if (secrets[i] !== seen[i]) return false
  return true
}
