import { type SaveResult, type SessionChange, SessionError } from '@sessionkit/core'
import type { Client } from './commands'
import type { Writes } from './durability'
import type { LegacyRecords } from './migration'
import type { PrincipalIndex } from './principal-index'
import { checked, createArgs, pairsToHash } from './record'
import { META } from './scripts'

/** What a rotation needs from its store. */
export interface RotationContext {
  client: Client
  writes: Writes
  index: PrincipalIndex
  legacy: LegacyRecords | undefined
  key(id: string): string
}

/**
 * Moves a session to a new id. The two keys live in different Cluster slots, so this cannot
 * be one script or a RENAME. The order, and why:
 *
 * 1. Create the new record (only if the id is free: else `collision`, nothing else done).
 * 2. Index it under its principal (the record exists, so the entry is true).
 * 3. Take the old record: read and delete it in one script. This is the commit point: of two
 *    concurrent rotations exactly one takes it; the other deletes what it wrote in 1 and 2
 *    and answers `gone`.
 * 4. Drop the old id's index entry (best effort: a stale entry points at nothing and is
 *    pruned at its expiry).
 *
 * Failures: before 3, the old record is untouched, so the client keeps an id that still
 * loads; what 1 and 2 wrote is deleted again (the delete is queued behind the create on the
 * same connection, so it also removes a create that runs late). If 3 fails or does not answer
 * in time, the new record is known to exist, so the answer is `saved` and the client gets the
 * new id; the old record is then either gone or left to expire with its own data (never the
 * new session's). The reverse order (take old, then create new) loses the session when the
 * second step fails, and leaves a record under an id no client holds when it runs late.
 *
 * @param deadline `performance.now()` past which the caller has given up (answered
 *   STORE_UNAVAILABLE): a rotation that gets there before its commit undoes itself.
 */
export async function rotate(
  ctx: RotationContext,
  change: SessionChange,
  deadline: number,
): Promise<SaveResult> {
  const previousId = change.previousId!
  const key = ctx.key(change.id)
  const principal = typeof change.meta.principal === 'string' ? change.meta.principal : undefined
  const now = Date.now()
  const undo = async () => {
    await Promise.all([
      ctx.writes.send(key, (c) => c.del(key)),
      principal === undefined ? undefined : ctx.index.remove(principal, change.id),
    ])
  }

  const args = createArgs(now, change.meta, change.set)
  try {
    const [created] = checked(
      await ctx.writes.send(
        key,
        (c) => c.sessionkitSave(key, args),
        (r) => r[0] === 'saved',
      ),
      'rotation',
    )
    if (created === 'collision') return 'collision'
    if (principal !== undefined) await ctx.index.add(principal, change.id, change.meta.expiresAt)
  } catch (err) {
    await undo().catch(() => {})
    throw err
  }
  if (performance.now() >= deadline) {
    // Too late to commit: the caller answers (or has answered) STORE_UNAVAILABLE and the
    // client keeps the old id, which still loads. Never `gone`: that would log the user out.
    await undo()
    throw new SessionError(
      'STORE_UNAVAILABLE',
      'redis rotation did not reach its commit in time; nothing changed',
    )
  }

  let taken: Taken
  try {
    taken = await withinDeadline(take(ctx, previousId, now), deadline)
  } catch {
    // The new record exists and the client is about to be told its id: that is the session now.
    return 'saved'
  }
  if (taken === undefined) {
    await undo()
    return 'gone'
  }
  if (taken.principal) await ctx.index.remove(taken.principal, previousId).catch(() => {})
  return 'saved'
}

type Taken = { principal: string | undefined } | undefined

async function take(ctx: RotationContext, id: string, now: number): Promise<Taken> {
  const key = ctx.key(id)
  const pairs = await ctx.writes.send(
    key,
    (c) => c.sessionkitTake(key, '', now),
    (r) => r !== null,
  )
  if (pairs) {
    return { principal: pairsToHash(pairs)[META.principal] || undefined }
  }
  if (ctx.legacy && (await ctx.legacy.take(id, now))) return { principal: undefined }
  return undefined
}

async function withinDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('past the deadline')),
      Math.max(0, deadline - performance.now()),
    )
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}
