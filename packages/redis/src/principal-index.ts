import type { Client } from './commands'
import type { Writes } from './durability'

/**
 * The principal index: per principal a sorted set of session ids scored by the session's
 * expiresAt (see INDEX_LUA). It lives in another Cluster slot than the sessions, so it is
 * written by separate commands, and only once a save's outcome is known to be `saved`: a
 * collision must not index the victim under the intruder, a `gone` must not re-add an entry.
 */
export class PrincipalIndex {
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
  async add(principal: string, id: string, expiresAt: number): Promise<void> {
    const key = this.key(principal)
    await this.writes.send(key, (c) => c.sessionkitIndex(key, id, expiresAt, Date.now()))
  }

  async remove(principal: string, id: string): Promise<void> {
    const key = this.key(principal)
    await this.writes.send(key, (c) => c.zrem(key, id))
  }

  /** After a saved write: the entry follows the record's principal and expiry as they are now. */
  async follow(id: string, before: string, now: string, expiresAt: number): Promise<void> {
    await Promise.all([
      before && before !== now ? this.remove(before, id) : undefined,
      now ? this.add(now, id, expiresAt) : undefined,
    ])
  }

  /**
   * Live ids of a principal. Entries carry the session's expiry as score: pruning on read
   * keeps the set bounded without keyspace notifications, which managed Redis often disables.
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
    return ids
  }
}
