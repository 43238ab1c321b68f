/**
 * Which sessions a full store gives up first (expired ones go before all of these). The store
 * sees only the SPI, so the tiers use what it shows: whether a request other than the creating
 * one ever used the session, whether it holds data, and whether it has a principal. A drop-in
 * app sets no principal, and with the peers' default `saveUninitialized: true` every cookie-less
 * request creates a session: those are created once and never used again, so they go first.
 */
export const Tier = {
  /** Created and never used again, with no data besides its cookie settings: a cookie-less hit. */
  Empty: 0,
  /** Created and never used again, with data (e.g. a page that writes a CSRF secret or a counter). */
  OneRequest: 1,
  /** Used by a later request (loaded, saved or touched): a client that came back. */
  Returning: 2,
  /** Has a principal (`setPrincipal`): a logged-in user, given up last. */
  Owned: 3,
} as const
export type Tier = (typeof Tier)[keyof typeof Tier]

/** What {@link EvictionOrder} keeps on each item: the queue it is in. */
export interface Ranked {
  tier: Tier
}

/**
 * One recency queue per tier. A Set iterates in insertion order, so re-adding an item makes it
 * the most recently used: every operation is O(1), and the victim is the first item of the
 * lowest non-empty tier.
 */
export class EvictionOrder<T extends Ranked> {
  private readonly queues: Set<T>[] = Object.values(Tier).map(() => new Set<T>())

  /** Puts `item` at the back (most recently used) of `tier`'s queue, out of the one it was in. */
  place(item: T, tier: Tier): void {
    this.queue(item.tier).delete(item)
    item.tier = tier
    this.queue(tier).add(item)
  }

  remove(item: T): void {
    this.queue(item.tier).delete(item)
  }

  /** The next session to give up: the least recently used of the lowest tier that has one. */
  victim(): T | undefined {
    for (const queue of this.queues) {
      const first = queue.values().next()
      if (!first.done) return first.value
    }
    return undefined
  }

  clear(): void {
    for (const queue of this.queues) queue.clear()
  }

  private queue(tier: Tier): Set<T> {
    return this.queues[tier]!
  }
}
