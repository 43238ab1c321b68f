import { SessionError } from '@sessionkit/core'
import type { Client } from './commands'
import type { Writes } from './durability'

/** Pauses between repair passes while index writes are pending, in ms; the last one repeats. */
const REPAIR_BACKOFF_MS = [100, 250, 500, 1000, 2000]
/** A removal that cannot be made for this long is dropped: its stale entry points at nothing and is pruned at its expiry. */
const REMOVE_GIVE_UP_MS = 10 * 60_000

/** An index write not (yet) known to have landed. */
interface Pending {
  op: 'add' | 'remove'
  principal: string
  id: string
  /** add: the session's expiresAt (the entry is wanted until then); remove: when to give up. */
  until: number
  inFlight: boolean
}

/**
 * The principal index: per principal a sorted set of session ids scored by the session's
 * expiresAt (see INDEX_LUA). It lives in another Cluster slot than the sessions, so it is
 * written by separate commands, and only once a save's outcome is known to be `saved`: a
 * collision must not index the victim under the intruder, a `gone` must not re-add an entry.
 *
 * On Cluster the set may live on another shard than the session. A plain save, touch or
 * delete therefore does not fail when its index write does ({@link follow}): a shard's outage
 * costs only the sessions on it. The write is kept as pending and sent again in the background
 * until it lands (an add until the session's expiry), every later save or touch of the session
 * adds its entry again, and `findByPrincipal` of this process also returns the sessions whose
 * add is pending here. Only a rotation needs its entry in place before its commit point
 * (rotation.ts) and uses {@link add}, which fails the rotation instead.
 */
export class PrincipalIndex {
  readonly #pending = new Map<string, Pending>()
  #repairTimer: NodeJS.Timeout | undefined
  #repairRound = 0

  constructor(
    private readonly client: Client,
    private readonly writes: Writes,
    private readonly prefix: string,
  ) {}

  /** `<prefix>principal:{<principal>}`: the hash tag keeps one principal's set in one slot. */
  key(principal: string): string {
    return `${this.prefix}principal:{${principal}}`
  }

  /** Adds the entry or moves its expiry forward (never back: a racing older write cannot drop it). */
  async add(principal: string, id: string, expiresAt: number, until?: number): Promise<void> {
    const key = this.key(principal)
    const reply = await this.writes.script(
      key,
      (c, guard) => c.sessionkitIndex(key, [...guard, id, expiresAt, Date.now()]),
      { until },
    )
    if (Array.isArray(reply) && reply[0] === 'invalid') {
      throw new SessionError('STORE_ERROR', 'redis index update refused its arguments; nothing was written')
    }
  }

  async remove(principal: string, id: string): Promise<void> {
    const key = this.key(principal)
    await this.writes.send(key, (c) => c.zrem(key, id))
  }

  /**
   * After a saved write: the entry follows the record's principal and expiry as they are now.
   * Never fails; waits for the index writes until `until` (`performance.now()`; undefined: until
   * they answer), and what has not landed by then is repaired in the background.
   */
  async follow(id: string, before: string, now: string, expiresAt: number, until?: number): Promise<void> {
    const writes: Promise<void>[] = []
    if (before && before !== now) {
      const giveUp = Date.now() + REMOVE_GIVE_UP_MS
      writes.push(this.#send({ op: 'remove', principal: before, id, until: giveUp, inFlight: true }))
    }
    if (now)
      writes.push(this.#send({ op: 'add', principal: now, id, until: expiresAt, inFlight: true }, until))
    if (!writes.length) return
    if (until === undefined) {
      await Promise.all(writes)
      return
    }
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(writes),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, until - performance.now()))
      }),
    ])
    clearTimeout(timer)
  }

  /**
   * Live ids of a principal. Entries carry the session's expiry as score: pruning on read
   * keeps the set bounded without keyspace notifications, which managed Redis often disables.
   * Sessions whose entry this process has not yet written are included.
   */
  async ids(principal: string, now: number): Promise<string[]> {
    const key = this.key(principal)
    const replies = await this.client
      .pipeline()
      .zremrangebyscore(key, '-inf', now)
      .zrangebyscore(key, `(${now}`, '+inf')
      .exec()
    const [, [err, ids]] = replies as [unknown, [Error | null, string[]]]
    if (err) throw err
    const pending = [...this.#pending.values()]
      .filter((p) => p.op === 'add' && p.principal === principal && p.until > Date.now())
      .map((p) => p.id)
    return [...new Set([...ids, ...pending])]
  }

  /** Index writes not yet known to have landed (tests, operators). */
  get pendingRepairs(): number {
    return this.#pending.size
  }

  /** One index write; on failure it stays pending and the repair loop sends it again. */
  async #send(entry: Pending, until?: number): Promise<void> {
    const name = `${entry.principal}\u0000${entry.id}`
    // The latest write for this (principal, id) is the one that counts.
    this.#pending.set(name, entry)
    try {
      if (entry.op === 'add') await this.add(entry.principal, entry.id, entry.until, until)
      else await this.remove(entry.principal, entry.id)
      if (this.#pending.get(name) === entry) this.#pending.delete(name)
    } catch {
      entry.inFlight = false
      this.#scheduleRepair()
    }
  }

  #scheduleRepair(): void {
    if (this.#repairTimer) return
    const pause = REPAIR_BACKOFF_MS[Math.min(this.#repairRound, REPAIR_BACKOFF_MS.length - 1)]!
    this.#repairTimer = setTimeout(() => {
      this.#repairTimer = undefined
      void this.#repair()
    }, pause)
    // Repairs never keep a process alive: what is pending is re-added by the session's next write.
    this.#repairTimer.unref()
  }

  async #repair(): Promise<void> {
    const due = [...this.#pending.values()].filter((p) => !p.inFlight)
    const now = Date.now()
    const sends: Promise<void>[] = []
    for (const entry of due) {
      if (entry.until <= now) {
        this.#pending.delete(`${entry.principal}\u0000${entry.id}`)
        continue
      }
      sends.push(this.#send({ ...entry, inFlight: true }))
    }
    await Promise.all(sends)
    const failed = [...this.#pending.values()].some((p) => !p.inFlight)
    this.#repairRound = failed ? this.#repairRound + 1 : 0
  }
}
