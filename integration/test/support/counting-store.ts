import type { SessionChange, SessionMeta, SessionRecord, SessionStore } from '@sessionkit/core'

/**
 * A store that forwards to another and records every id it is asked about, so a test can
 * tell whether a request reached the store and with which id.
 */
export class CountingStore implements SessionStore {
  /** Ids the server created (a new session or a rotation's new id). */
  readonly issued = new Set<string>()
  /** Every id a load, touch, delete, or save of an existing session asked about. */
  readonly asked: string[] = []

  constructor(readonly inner: SessionStore) {}

  get capabilities() {
    return this.inner.capabilities
  }

  load(id: string): Promise<SessionRecord | undefined> {
    this.asked.push(id)
    return this.inner.load(id)
  }

  save(change: SessionChange) {
    if (change.isNew || change.previousId !== undefined) this.issued.add(change.id)
    else this.asked.push(change.id)
    if (change.previousId !== undefined) this.asked.push(change.previousId)
    return this.inner.save(change)
  }

  touch(id: string, meta: SessionMeta) {
    this.asked.push(id)
    return this.inner.touch(id, meta)
  }

  delete(id: string) {
    this.asked.push(id)
    return this.inner.delete(id)
  }

  findByPrincipal(principal: string) {
    return this.inner.findByPrincipal!(principal)
  }

  close() {
    return this.inner.close?.() ?? Promise.resolve()
  }
}
