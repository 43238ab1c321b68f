import { isConnectDriven } from '../adapt-store'
import { storeErrorForApp } from '../connect-call'
import { peerWrites, readsPeerWrites } from '../peer-writes'
import type { CommitResult } from '../repository'
import { isSealedStore } from '../sealed/store'
import { STATE } from '../session'
import { clearCookie, setCookieFor } from './cookie-instruction'
import { debug, logCommit, logStore, logStoreError, warnSecureOverHttp } from './debug'
import { type CommitPlan, type PlanInput, planCommit } from './plan'
import { RequestState } from './request-state'
import type { CommitOutcome, CookieInstruction, Preview } from './request-types'

export type { CommitPlan, RequestFacts } from './plan'
export type {
  CommitOutcome,
  CookieInstruction,
  LifecycleHost,
  OpenInput,
  Preview,
  Snapshot,
} from './request-types'

/** The commit {@link RequestLifecycle.preview} prepared at the end of the response. */
interface PreparedEnd {
  /** Settled: a later commit answers this outcome again. */
  outcome?: CommitOutcome
  /** The hold (one read, one encoding) passed on to the commit. */
  release?: () => void
  /** The peer's object for a connect store, as it was at the end. */
  object?: () => Record<string, unknown>
}

/**
 * One request's session, from open to commit. Every operation (save, reload, regenerate,
 * destroy, revokeAll, commit) runs after the previous one finished, so a binding can start
 * them from callbacks in any order. What the commit does is one plan (`planCommit`), which
 * the commit and every "what would happen" question ({@link preview}) share.
 */
export class RequestLifecycle<Data extends object = Record<string, unknown>> extends RequestState<Data> {
  #queue: Promise<unknown> = Promise.resolve()
  /** Operations queued or running: a commit can be settled at once only when none is. */
  #busy = 0
  #end: PreparedEnd | undefined
  #sealedReleased = false
  /** What the plan reads, made once per request: planning allocates nothing. */
  readonly #planInput: PlanInput = this.#readForPlan()

  /** New id, same data (at login, against session fixation); written at commit. */
  changeId(): string {
    return this.session.changeId(this.host.newId(this.context))
  }

  /** Asks for the store's expiry to be extended at commit although no touch is due. */
  touch(): void {
    this.facts.touchRequested = true
  }

  /** Forgets the session for this request without deleting it (`req.session = null`, unset: keep). */
  detach(): void {
    this.facts.detached = true
  }

  /** New id and empty data; the old record is deleted now, the new one written at commit. */
  regenerate(): Promise<void> {
    return this.#run(async () => {
      const id = this.host.newId(this.context)
      const before = this.session.id
      try {
        await this.host.repository.regenerate(this.session, id)
      } catch (err) {
        // The old record could not be deleted. A connect store is left as the peers leave it
        // (one `destroy`, the error to the app); a sessionkit store's commit deletes it again.
        if (this.session.id !== before && isConnectDriven(this.host.repository.store))
          this.session[STATE].pendingDelete = undefined
        throw err
      } finally {
        // The request goes on with the new, empty session either way, as with the peers.
        if (this.session.id !== before) {
          this.data = {}
          this.cookie = { ...this.defaults }
          this.facts.detached = false
        }
      }
    })
  }

  /**
   * Replaces the session with what the store holds; `false` when it no longer exists. A
   * session never stored is looked up only with `lookUpUnsaved` (express-session asks the store).
   */
  reload(options: { lookUpUnsaved?: boolean } = {}): Promise<boolean> {
    return this.#run(async () => {
      if (this.session.isNew && !options.lookUpUnsaved) return false
      const loaded = await this.host.repository.load(this.session.id)
      if (!loaded) return false
      this.useAppIds(loaded)
      this.session = loaded
      this.cookie = this.adopt(loaded)
      this.data = this.appData(loaded)
      return true
    })
  }

  /** Deletes the session now. */
  destroy(): Promise<void> {
    return this.#run(() => this.#destroy())
  }

  /** Writes the session now (forced), as the peers' `save()`. */
  save(): Promise<CommitResult> {
    return this.#run(async () => {
      this.facts.failedSave = undefined
      let result: CommitResult
      try {
        result = await this.#write({ force: true }, true)
      } catch (err) {
        if (this.host.rules.failedSaveCountsAsSaved) this.facts.failedSave = this.encodedData()
        throw err
      }
      if (result === 'created' || result === 'saved') this.facts.explicitSave = 'wrote'
      else if (this.facts.explicitSave === 'none') this.facts.explicitSave = 'saved'
      return result
    })
  }

  /**
   * Deletes every session of this session's principal; with `exceptCurrent`, spares the
   * record this client will hold after commit (the stored one, which a pending `changeId`
   * moves to the new id), else destroys this one too. Answers how many others were deleted.
   */
  revokeAll(options: { exceptCurrent?: boolean } = {}): Promise<number> {
    return this.#run(async () => {
      const principal = this.session.principal
      const except = options.exceptCurrent ? (this.session.storedId ?? this.session.id) : undefined
      const count =
        principal === undefined ? 0 : await this.host.repository.destroyAllFor(principal, { except })
      if (!options.exceptCurrent) await this.#destroy()
      return count
    })
  }

  /**
   * What the commit would do if it ran now, without a store round trip.
   * - `'peek'` (default): never throws; for headers sent before the store write completes (a
   *   streamed body) and peer hooks that run only before a write (koa-session's `beforeSave`).
   * - `'check'`: throws what the commit would throw before any store call (a `cookie.maxAge`
   *   that is not finite, an attribute the codec cannot encode, a session over `maxSizeBytes`).
   * - `'end'`: `'check'` for a binding about to end its response. When the commit needs no
   *   store call (nothing to write, touch or delete, no operation queued) it is done here and
   *   `outcome` is its result, so the response can end in one write, as the peers end it when
   *   they have nothing to save; a later {@link commit} answers the same outcome. Otherwise the
   *   commit reuses this read and encoding of the session (the session as at the end).
   */
  preview(at: 'peek' | 'check' | 'end' = 'peek'): Preview {
    if (at === 'peek') {
      try {
        const plan = this.#plan()
        return { plan, cookie: this.#cookie(plan, this.#predictedResult(plan)) }
      } catch {
        return { plan: undefined, cookie: undefined } // the commit reports it
      }
    }
    if (at === 'end' && this.#sealedLogoutDone()) {
      // Nothing left to call the store for, and the cookie must still be cleared (see #cookie).
      const plan = this.#plan()
      const outcome = this.#done(plan)
      this.#end = { outcome }
      this.#releaseSealed()
      return { plan, cookie: outcome.cookie, outcome }
    }
    if (this.facts.detached || this.session.isDestroyed) return { plan: undefined, cookie: undefined }
    const release = this.hold() // throws for an invalid cookie.maxAge
    let kept = false
    try {
      this.host.repository.isModified(this.session) // throws what the write would
      if (at === 'check') return { plan: undefined, cookie: undefined }
      const end = this.#prepareEnd()
      if (!end.outcome && this.#busy === 0) {
        // The commit writes what the session was at the end of the response, as the peers
        // serialize it there: it reuses this read and encoding (and so does a preview
        // meanwhile) unless another operation comes first. Not while one is queued: a save
        // that runs before the commit changes what the commit must compare.
        kept = true
        this.#end = { release }
        // A connect store driven the peer's way gets the peer's object as it was here too:
        // the peers hand it to the store's `set` inside `res.end`.
        const object = this.connectObject
        if (object && readsPeerWrites(this.host.repository.store)) {
          const atEnd = object()
          this.#end.object = () => atEnd
        }
      }
      return end
    } finally {
      if (!kept) release()
    }
  }

  /** The end's preview; settled when the commit would make no store call and nothing is queued. */
  #prepareEnd(): Preview {
    let plan: CommitPlan
    try {
      plan = this.#plan()
    } catch {
      return { plan: undefined, cookie: undefined } // the commit reports it
    }
    const idle = this.#busy === 0 && this.facts.failedSave === undefined
    let outcome: CommitOutcome | undefined
    if (idle && plan.store === 'none' && plan.result === 'skipped') {
      outcome = { result: 'skipped', cookie: this.#cookie(plan, 'skipped') }
    } else if (idle && plan.store === 'write' && this.host.repository.saveIsNoop(this.session, plan)) {
      outcome = { result: 'unchanged', cookie: this.#cookie(plan, 'unchanged') }
    }
    if (!outcome) return { plan, cookie: this.#cookie(plan, this.#predictedResult(plan)) }
    this.#end = { outcome }
    this.#releaseSealed()
    if (debug.enabled) logCommit('at end', this.session.id, plan, outcome)
    return { plan, cookie: outcome.cookie, outcome }
  }

  /** The end-of-request commit, after any operation still running. */
  commit(): Promise<CommitOutcome> {
    return this.#run(async () => {
      const end = this.#end
      if (end?.outcome) return end.outcome // settled at the end: answered again
      this.#end = undefined
      try {
        return await this.#commit(end)
      } finally {
        end?.release?.()
        this.#releaseSealed()
      }
    }, true)
  }

  /** A sealed session this request destroyed, its delete done and nothing queued. */
  #sealedLogoutDone(): boolean {
    return (
      this.session.isDestroyed &&
      this.facts.removal === 'destroyed' &&
      this.#busy === 0 &&
      this.#end === undefined &&
      isSealedStore(this.host.repository.store)
    )
  }

  /** A sealed store holds the request's session from begin to commit only. */
  #releaseSealed(): void {
    const store = this.host.repository.store
    if (!isSealedStore(store) || this.#sealedReleased) return
    this.#sealedReleased = true
    store.release(this.session.id)
    if (this.presentedId !== undefined && this.presentedId !== this.session.id)
      store.release(this.presentedId)
  }

  async #commit(end: PreparedEnd | undefined): Promise<CommitOutcome> {
    if (this.session.isDestroyed || this.facts.detached) {
      let plan = this.#plan()
      if (plan.store === 'delete') {
        await this.#destroy()
        plan = this.#plan()
      }
      return this.#done(plan)
    }
    // Validates cookie.maxAge before anything is written (the end's hold did already); the
    // plan and the write share one read and one encoding of the session.
    const release = end?.release ? () => {} : this.hold()
    try {
      const plan = this.#plan()
      if (plan.store !== 'delete' && plan.secureBlocked) warnSecureOverHttp()
      if (plan.store !== 'write') return this.#done(plan)
      const result = await this.#write(plan, false, end?.object)
      return this.#done(plan, result)
    } finally {
      release()
    }
  }

  /** The outcome of a plan carried out: `result` is the store's answer to a write. */
  #done(plan: CommitPlan, result = plan.store === 'none' ? plan.result : undefined): CommitOutcome {
    const outcome = { result, cookie: this.#cookie(plan, result) }
    if (debug.enabled) logCommit('commit', this.session.id, plan, outcome)
    return outcome
  }

  async #write(
    plan: { force: boolean; resave?: boolean },
    explicit: boolean,
    endObject?: () => Record<string, unknown>,
  ): Promise<CommitResult> {
    this.sync()
    const start = debug.enabled ? performance.now() : 0
    try {
      const result = await this.#save(plan.force, explicit, plan.resave === true, endObject)
      if (result === 'gone' && this.facts.removal === 'none') this.facts.removal = 'gone'
      if (debug.enabled) logStore('save', this.session.id, result, start)
      return result
    } catch (err) {
      if (debug.enabled) logStoreError('save', this.session.id, err, start)
      throw err
    } finally {
      this.unsync()
    }
  }

  /** The repository's save; a connect store driven the peer's way gets the peer's object. */
  #save(
    force: boolean,
    explicit: boolean,
    resave: boolean,
    endObject: (() => Record<string, unknown>) | undefined,
  ): Promise<CommitResult> {
    const object = endObject ?? this.connectObject
    const save = () => this.host.repository.save(this.session, { saveUninitialized: true, force })
    return object && readsPeerWrites(this.host.repository.store)
      ? peerWrites.run({ object, explicit, resave }, save)
      : save()
  }

  async #destroy(): Promise<void> {
    const repository = this.host.repository
    const unstored = this.session.storedId === undefined ? this.session.id : undefined
    const start = debug.enabled ? performance.now() : 0
    this.facts.removal = 'attempted'
    this.session.destroy()
    await repository.save(this.session)
    // The peers call a connect store's `destroy` for a session never stored as well (apps and
    // their tests count on that call and its errors); a sessionkit store is spared it.
    if (unstored !== undefined && isConnectDriven(repository.store)) await repository.delete(unstored)
    this.facts.removal = 'destroyed'
    if (debug.enabled) logStore('delete', this.session.id, 'done', start)
  }

  #run<T>(op: () => Promise<T>, commit = false): Promise<T> {
    // Anything but the commit after the end (a late save, a destroy) makes it plan again,
    // on the session as it is then.
    if (!commit) {
      const end = this.#end
      this.#end = undefined
      end?.release?.()
    }
    this.#busy++
    const result = this.#queue
      .then(op)
      .catch((err: unknown) => {
        throw storeErrorForApp(err)
      })
      .finally(() => {
        this.#busy--
      })
    this.#queue = result.catch(() => {})
    return result
  }

  /** The commit's plan for the request as it is now. */
  #plan(): CommitPlan {
    return planCommit(this.#planInput)
  }

  #readForPlan(): PlanInput {
    const request = this
    return {
      rules: this.host.rules,
      facts: this.facts,
      get session() {
        return request.session
      },
      presentedId: this.presentedId,
      presented: this.presented,
      secure: this.secure,
      cookie: () => this.cookie,
      isModified: () => this.isModified(),
      unchangedSinceSave: () => !this.isModified({ sinceSave: true }),
      failedSaveUnchanged: () => this.facts.failedSave === this.encodedData(),
    }
  }

  /**
   * The result a preview assumes: a write the store confirms (also the one a failed explicit
   * save attempted, whose cookie the peer sends with its headers).
   */
  #predictedResult(plan: CommitPlan): CommitResult | undefined {
    if (plan.store === 'none' && !(plan.result === 'skipped' && plan.cookie === 'set')) return plan.result
    return plan.store === 'delete' ? undefined : this.session.isNew ? 'created' : 'saved'
  }

  /** The plan's cookie for the store's answer: Set-Cookie only for what the store confirmed. */
  #cookie(plan: CommitPlan, result: CommitResult | undefined): CookieInstruction | undefined {
    const store = this.host.repository.store
    const sealed = isSealedStore(store)
    // A sealed session is the cookie: a logout that left it would log no one out, whatever
    // the peer does with a stored session's cookie.
    const sealedLogout = sealed && this.session.isDestroyed && this.presented
    if (plan.cookie === 'clear' || sealedLogout) {
      return clearCookie({ cookie: this.cookie, secure: this.secure, rules: this.host.rules })
    }
    if (result === undefined) return undefined
    // A sealed session's write exists only in the cookie: every write re-sends it.
    const resealed = sealed && plan.store === 'write' && !plan.secureBlocked && result !== 'unchanged'
    if (plan.cookie === 'none' && !resealed) return undefined
    const cookie = setCookieFor(
      result,
      { send: true },
      {
        session: this.session,
        cookie: this.cookie,
        secure: this.secure,
        rules: this.host.rules,
        savedEarly: this.facts.explicitSave !== 'none',
      },
    )
    if (!sealed || cookie?.action !== 'set') return cookie
    // Unknown only in a preview before the write seals it: bindings wait for the commit's cookie.
    const value = store.cookieValue(cookie.id)
    return value === undefined ? cookie : { ...cookie, value }
  }
}
