import {
  createdMeta,
  mergeMeta,
  type SaveResult,
  type SessionChange,
  type SessionMeta,
  type SessionRecord,
  type SessionStore,
  type SessionTouch,
  touchedMeta,
} from '@sessionkit/core'

interface Entry {
  meta: SessionMeta
  attributes: Map<string, string>
}

/** Every store opened on one namespace sees the same entries, as clients of one server do. */
const backends = new Map<string, Map<string, Entry>>()

export class MapStore implements SessionStore {
  readonly capabilities = { principalIndex: true, shared: true }
  private readonly entries: Map<string, Entry>

  constructor(namespace: string) {
    const entries = backends.get(namespace) ?? new Map<string, Entry>()
    backends.set(namespace, entries)
    this.entries = entries
  }

  async load(id: string): Promise<SessionRecord | undefined> {
    const entry = this.live(id)
    return entry && toRecord(id, entry)
  }

  // No await between the check and the write: each save is atomic.
  async save(change: SessionChange): Promise<SaveResult> {
    const attributes = new Map(Object.entries(change.set))
    if (change.previousId !== undefined) {
      if (!this.live(change.previousId)) return 'gone'
      if (this.live(change.id)) return 'collision'
      this.entries.delete(change.previousId)
      this.entries.set(change.id, { meta: createdMeta(change.meta), attributes })
      return 'saved'
    }
    const existing = this.live(change.id)
    if (change.isNew) {
      if (existing) return 'collision'
      this.entries.set(change.id, { meta: createdMeta(change.meta), attributes })
      return 'saved'
    }
    if (!existing) return 'gone'
    for (const [name, value] of attributes) existing.attributes.set(name, value)
    for (const name of change.removed) existing.attributes.delete(name)
    existing.meta = mergeMeta(existing.meta, change.meta)
    return 'saved'
  }

  async touch(id: string, meta: SessionTouch): Promise<boolean> {
    const existing = this.live(id)
    if (!existing) return false
    existing.meta = touchedMeta(existing.meta, meta)
    return true
  }

  async delete(id: string): Promise<void> {
    this.entries.delete(id)
  }

  async findByPrincipal(principal: string): Promise<SessionRecord[]> {
    const found: SessionRecord[] = []
    for (const id of this.entries.keys()) {
      const entry = this.live(id)
      if (entry?.meta.principal === principal) found.push(toRecord(id, entry))
    }
    return found
  }

  /** The entry, unless it is missing or past its expiresAt (expiry is exact and exclusive). */
  private live(id: string): Entry | undefined {
    const entry = this.entries.get(id)
    if (entry && Date.now() < entry.meta.expiresAt) return entry
    this.entries.delete(id)
    return undefined
  }
}

/** A copy: what the caller does with a loaded record never reaches the store. */
function toRecord(id: string, entry: Entry): SessionRecord {
  return { id, ...entry.meta, attributes: Object.fromEntries(entry.attributes) }
}
