import { isConnectDriven } from '../adapt-store'
import { storeErrorForApp } from '../connect-call'
import { peerWrites, readsPeerWrites } from '../peer-writes'
import type { CommitResult } from '../repository'
import { type Session, STATE } from '../session'
import { type CommitDecision, decideCommit } from './commit-decision'
import { clearCookie, setCookieFor } from './cookie-instruction'
import { RequestState } from './request-state'
import type { CommitOutcome, CookieInstruction, LifecycleHost, OpenInput } from './request-types'

export type { CommitOutcome, CookieInstruction, LifecycleHost, OpenInput, Snapshot } from './request-types'

/**
 * One request's session, from open to commit. Every operation (save, reload, regenerate,
 * destroy, revokeAll, commit) runs after the previous one finished, so a binding can start
 * them from callbacks in any order.
 */
export class RequestLifecycle<Data extends object = Record<string, unknown>> extends RequestState<Data> {
  readonly #resign: boolean
  #savedEarly = false
  #touchRequested = false
  #destroyedHere = false
  /** A destroy was attempted (it may have failed): the commit does not try it again. */
  #destroyAttempted = false
  /**
   * The data an explicit `save()` failed to write, encoded: as the peers do, the commit does
   * not write it again unless the app changed it since (the app had the error already).
   */
  #failedSave: string | undefined
  /** A write answered `gone`: deleted elsewhere (logout in another tab, a rotation). */
  #gone = false
  #detached = false
  #queue: Promise<unknown> = Promise.resolve()
  /** Operations queued or running: a commit can be settled at once only when none is. */
  #busy = 0
  /** Settled by {@link prepareEnd}: a later commit answers this outcome again. */
  #settled: CommitOutcome | undefined
  /** The hold (one read, one encoding) {@link prepareEnd} passes on to the commit. */
  #endHold: (() => void) | undefined
  /** The peer's object for a connect store, as it was at {@link prepareEnd}. */
  #endObject: (() => Record<string, unknown>) | undefined

  constructor(host: LifecycleHost<Data>, input: OpenInput, loaded: Session<Data> | undefined) {
    super(host, input, loaded)
    this.#resign = input.resign === true
  }

  /** New id, same data (at login, against session fixation); written at commit. */
  changeId(): string {
    return this.session.changeId(this.host.newId(this.context))
  }

  /** Asks for the store's expiry to be extended at commit although no touch is due. */
  touch(): void {
    this.#touchRequested = true
  }

  /** Forgets the session for this request without deleting it (`req.session = null`, unset: keep). */
  detach(): void {
    this.#detached = true
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
          this.#detached = false
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
      this.#failedSave = undefined
      let result: CommitResult
      try {
        result = await this.#write({ saveUninitialized: true, force: true }, true)
      } catch (err) {
        if (this.host.rules.failedSaveCountsAsSaved) this.#failedSave = this.encodedData()
        throw err
      }
      this.#savedEarly = true
      if (result === 'created' || result === 'saved') this.wroteEarly = true
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
   * Throws now what the commit would throw before any store call: a `cookie.maxAge` that is
   * not finite, an attribute the codec cannot encode, a session over `maxSizeBytes`. For
   * frameworks that send the response's headers before the store write completes.
   */
  validate(): void {
    if (this.#detached || this.session.isDestroyed) return
    this.sync()
    try {
      this.host.repository.isModified(this.session)
    } finally {
      this.unsync()
    }
  }

  /**
   * {@link validate}, then {@link predictCookie}, on one read of the binding's object and one
   * encoding of the attributes (nothing runs in between that could change them): a binding
   * that does both before sending its headers pays for one pass over the data, not two.
   */
  validateAndPredict(): CookieInstruction | undefined {
    if (this.#detached || this.session.isDestroyed) return undefined
    const release = this.hold() // throws what validate would throw for an invalid cookie.maxAge
    try {
      this.validate()
      return this.predictCookie()
    } finally {
      release()
    }
  }

  /**
   * {@link validateAndPredict} for a binding about to end its response, on one read and one
   * encoding of the session. When the commit would make no store call at all (nothing to
   * write, touch or delete, no operation queued) it is done here and `outcome` is its result,
   * so the response can end in one write, as the peers end it when they have nothing to save;
   * a later {@link commit} answers the same outcome.
   */
  prepareEnd(): { predicted: CookieInstruction | undefined; outcome?: CommitOutcome } {
    if (this.#detached || this.session.isDestroyed) return { predicted: undefined }
    const release = this.hold() // throws what validate would throw for an invalid cookie.maxAge
    let kept = false
    try {
      this.validate()
      const end = this.#settleIfStoreFree()
      if (!end.outcome && this.#busy === 0) {
        // The commit writes what the session was at the end of the response, as the peers
        // serialize it there: it reuses this read and encoding (and so does a cookie
        // prediction meanwhile) unless another operation comes first. Not while one is
        // queued: a save that runs before the commit changes what the commit must compare.
        this.#endHold = release
        kept = true
        // A connect store driven the peer's way gets the peer's object as it was here too:
        // the peers hand it to the store's `set` inside `res.end`.
        const object = this.connectObject
        if (object && readsPeerWrites(this.host.repository.store)) {
          const atEnd = object()
          this.#endObject = () => atEnd
        }
      }
      return end
    } finally {
      if (!kept) release()
    }
  }

  /** Gives up the hold {@link prepareEnd} kept for the commit. */
  #releaseEnd(): void {
    const release = this.#endHold
    this.#endHold = undefined
    this.#endObject = undefined
    release?.()
  }

  #settleIfStoreFree(): { predicted: CookieInstruction | undefined; outcome?: CommitOutcome } {
    try {
      const decision = this.#decide()
      const idle = this.#busy === 0 && this.#failedSave === undefined
      if (!decision.save) {
        if (!idle || this.#savedEarly) return { predicted: undefined }
        const clear = this.host.rules.clearUnknownId && this.presented && this.presentedId !== this.session.id
        this.#settled = { result: 'skipped', cookie: clear ? this.#clear() : undefined }
        return { predicted: undefined, outcome: this.#settled }
      }
      if (idle && this.host.repository.saveIsNoop(this.session, { force: decision.force })) {
        this.#settled = { result: 'unchanged', cookie: this.#cookieFor('unchanged', decision) }
        return { predicted: this.#settled.cookie, outcome: this.#settled }
      }
      return { predicted: this.#cookieFor(this.session.isNew ? 'created' : 'saved', decision) }
    } catch {
      return { predicted: undefined } // as predictCookie: the commit reports it
    }
  }

  /**
   * The cookie the commit would send, decided now without a store round trip: for
   * frameworks whose headers leave before the save completes (a streamed body).
   */
  predictCookie(): CookieInstruction | undefined {
    if (this.#detached || this.session.isDestroyed) return undefined
    try {
      const decision = this.#decide()
      return decision.save ? this.#cookieFor(this.session.isNew ? 'created' : 'saved', decision) : undefined
    } catch {
      return undefined
    }
  }

  /**
   * Why the commit would write the session if it ran now: `'modified'` (changed data, a
   * new session with data, an explicit save that wrote), `'forced'` (rolling, renew, resave, a
   * due touch or re-sign), or `undefined` (no write). For peer hooks that run only before a
   * write, such as koa-session's `beforeSave`.
   */
  writeReason(): 'modified' | 'forced' | undefined {
    if (this.#detached || this.session.isDestroyed) return undefined
    const decision = this.#decide()
    if (!decision.save) return undefined
    if (this.isModified()) return 'modified'
    return decision.force ? 'forced' : undefined
  }

  /** The end-of-request commit, after any operation still running. */
  commit(): Promise<CommitOutcome> {
    return this.#run(async () => {
      if (this.#settled) return this.#settled
      const endHold = this.#endHold
      this.#endHold = undefined
      try {
        return await this.#commit(endHold)
      } finally {
        this.#endObject = undefined
        endHold?.()
      }
    }, true)
  }

  async #commit(endHold: (() => void) | undefined): Promise<CommitOutcome> {
    const session = this.session
    // Destroyed through the core session (`session.destroy()`) and not deleted yet.
    if (session.isDestroyed && !this.#destroyAttempted && !this.#gone) await this.#destroy()
    if (session.isDestroyed) {
      const clear = this.#destroyedHere && this.host.rules.clearOnDestroy && this.presentedId !== undefined
      return {
        result: this.#destroyedHere ? 'destroyed' : 'gone',
        cookie: clear ? this.#clear() : undefined,
      }
    }
    if (this.#detached) return { result: undefined, cookie: undefined }
    if (this.#failedSave !== undefined && this.#failedSave === this.encodedData()) {
      return { result: 'skipped', cookie: undefined }
    }
    // Validates cookie.maxAge before anything is written (prepareEnd's hold did already).
    const release = endHold ? () => {} : this.hold()
    try {
      const decision = this.#decide()
      if (!decision.save) {
        // The peer still sends the cookie of a session the app saved explicitly.
        if (this.#savedEarly)
          return { result: 'unchanged', cookie: this.#cookieFor('unchanged', { send: true }) }
        const clear = this.host.rules.clearUnknownId && this.presented && this.presentedId !== session.id
        return { result: 'skipped', cookie: clear ? this.#clear() : undefined }
      }
      const result = await this.#write(
        { saveUninitialized: true, force: decision.force },
        false,
        decision.resave,
      )
      return { result, cookie: this.#cookieFor(result, decision) }
    } finally {
      release()
    }
  }

  async #write(
    options: { saveUninitialized: boolean; force: boolean },
    explicit = false,
    resave = false,
  ): Promise<CommitResult> {
    this.sync()
    try {
      const result = await this.#save(options, explicit, resave)
      if (result === 'gone') this.#gone = true
      return result
    } finally {
      this.unsync()
    }
  }

  /** The repository's save; a connect store driven the peer's way gets the peer's object. */
  #save(
    options: { saveUninitialized: boolean; force: boolean },
    explicit: boolean,
    resave: boolean,
  ): Promise<CommitResult> {
    const object = this.#endObject ?? this.connectObject
    const save = () => this.host.repository.save(this.session, options)
    return object && readsPeerWrites(this.host.repository.store)
      ? peerWrites.run({ object, explicit, resave }, save)
      : save()
  }

  async #destroy(): Promise<void> {
    const repository = this.host.repository
    const unstored = this.session.storedId === undefined ? this.session.id : undefined
    this.#destroyAttempted = true
    this.session.destroy()
    await repository.save(this.session)
    // The peers call a connect store's `destroy` for a session never stored as well (apps and
    // their tests count on that call and its errors); a sessionkit store is spared it.
    if (unstored !== undefined && isConnectDriven(repository.store)) await repository.delete(unstored)
    this.#destroyedHere = true
  }

  #run<T>(op: () => Promise<T>, commit = false): Promise<T> {
    // Anything but the commit after the end (a late save, a destroy) makes it decide again,
    // on the session as it is then.
    if (!commit) {
      this.#settled = undefined
      this.#releaseEnd()
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

  /** When and how to write, by the peer's rules. */
  #decide(): CommitDecision {
    return decideCommit({
      rules: this.host.rules,
      session: this.session,
      cookie: () => this.cookie,
      secure: this.secure,
      presentedId: this.presentedId,
      savedEarly: this.#savedEarly,
      resign: this.#resign,
      touchRequested: this.#touchRequested,
      isModified: () => this.isModified(),
      unchangedSinceSave: () => !this.isModified({ sinceSave: true }),
    })
  }

  #cookieFor(result: CommitResult, decision: { send: boolean }): CookieInstruction | undefined {
    return setCookieFor(result, decision, {
      session: this.session,
      cookie: this.cookie,
      secure: this.secure,
      rules: this.host.rules,
      savedEarly: this.#savedEarly,
    })
  }

  #clear(): CookieInstruction {
    return clearCookie({ cookie: this.cookie, secure: this.secure, rules: this.host.rules })
  }
}
