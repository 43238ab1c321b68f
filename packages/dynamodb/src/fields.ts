/** Top-level attribute names of a session item. */
export const FIELD = {
  id: 'id',
  createdAt: 'createdAt',
  lastAccessedAt: 'lastAccessedAt',
  maxInactiveMs: 'maxInactiveMs',
  /** Epoch ms: the exact expiry every read checks. */
  expiresAt: 'expiresAt',
  /** Epoch seconds, for DynamoDB's own (lazy) TTL deletion. */
  ttl: 'ttl',
  principal: 'principal',
  attributes: 'attrs',
  /**
   * Bumped by every write, so a save too large for one update expression can read the item,
   * change it and put it back only if nobody wrote in between.
   */
  version: 'ver',
  /**
   * Prefix of the write-token slots `wt0`..`wt2`: string sets naming recent writes, so a copy of
   * a write whose answer was lost is recognised (see marks.ts).
   */
  marks: 'wt',
} as const
