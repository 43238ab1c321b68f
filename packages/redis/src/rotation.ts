import { type SaveResult, type SessionChange, SessionError } from '@sessionkit/core'
import type { Client, Reply } from './commands'
import { isNothingWritten, type WriteBudget, type Writes } from './durability'
import type { LegacyRecords } from './migration'
import type { PrincipalIndex } from './principal-index'
import { checked, createArgs } from './record'
import { answerOf, type Resolutions } from './resolutions'
import { MARKER_MS, markerKey, RESOLVE_MS } from './rotation-marker'

/** What a rotation needs from its store. */
export interface RotationContext {
  client: Client
  writes: Writes
  index: PrincipalIndex
  legacy: LegacyRecords | undefined
  resolutions: Resolutions
  key(id: string): string
}

/**
 * Moves a session to a new id. The two keys live in different Cluster slots, so this cannot
 * be one script or a RENAME. The order, and why:
 *
 * 1. Create the new record (only if the id is free: else `collision`, nothing else done).
 * 2. Index it under its principal (the record exists, so the entry is true).
 * 3. Take the old record: delete it in one script that leaves a marker naming the new id in
 *    the old record's slot. This is the commit point: of two concurrent rotations exactly one
 *    takes it; the other deletes what it wrote in 1 and 2 and answers `gone`.
 * 4. Drop the old id's index entry (best effort: a stale entry points at nothing and is
 *    pruned at its expiry).
 *
 * Failures: before 3, the old record is untouched, so the client keeps an id that still
 * loads; what 1 and 2 wrote is deleted again (the delete is queued behind the create on the
 * same connection, so it also removes a create that runs late; if the delete fails too it is
 * sent again in the background until it answers).
 *
 * The take is safe to repeat: a copy that finds no record but the marker naming this new id
 * answers `moved` (an earlier copy took it), so a take whose answer is lost (connection
 * closed, server paused) is sent again until one copy answers, and every answer is the truth.
 * If none answers before the caller's deadline, the answer is `saved`: the new record is known
 * to exist, so the new id is the one that can still work. The take then goes on in the
 * background ({@link RESOLVE_MS}): once a copy answers `taken` or `moved` the answer was true
 * and the old record is gone; if it answers `gone` (a logout deleted the old id, or a
 * concurrent rotation won), the new record is deleted, as the loser of a race deletes its own.
 * So, once settled, exactly one of the two ids loads, or neither after a logout. Answering
 * STORE_UNAVAILABLE instead would need the take undone, which needs the old record's data
 * back; and the reverse order (take old, then create new) loses the session when the second
 * step fails and leaves a record under an id no client holds when it runs late.
 *
 * @param deadline `performance.now()` past which the caller has given up (answered
 *   STORE_UNAVAILABLE): a rotation that gets there before its commit undoes itself.
 * @param budget the create's deadline in Redis' clock: a create that reaches Redis after it
 *   writes nothing (the undo would remove it anyway; this way nothing lands late at all).
 */
export async function rotate(
  ctx: RotationContext,
  change: SessionChange,
  deadline: number,
  budget: WriteBudget,
  progress: { committing: boolean } = { committing: false },
): Promise<SaveResult> {
  const previousId = change.previousId!
  const key = ctx.key(change.id)
  const principal = typeof change.meta.principal === 'string' ? change.meta.principal : undefined
  const undo = async () => {
    await Promise.all([
      ctx.writes.script(key, (c, guard) => c.sessionkitDelete(key, ...guard), {}),
      principal === undefined ? undefined : ctx.index.remove(principal, change.id),
    ])
  }
  // What 1 and 2 wrote must not outlive a rotation that did not commit.
  const withdraw = async () => {
    await answerOf(undo, performance.now() + RESOLVE_MS)
  }

  const args = createArgs(Date.now(), change.meta, change.set)
  try {
    const [created] = checked(
      await ctx.writes.script<Reply>(
        key,
        (c, guard) => c.sessionkitSave(key, [...guard, ...args]),
        budget,
        (r) => r[0] === 'saved',
      ),
      'rotation',
    )
    if (created === 'collision') return 'collision'
    // Unlike a plain save, the entry must be in place before the commit point (DESIGN.md,
    // contract point 5: "log out everywhere" finds the new id from then on). A rotation whose
    // index write fails, on Cluster also one whose index lives on a shard without its replica,
    // answers STORE_UNAVAILABLE and the client keeps its old id, which still loads.
    if (principal !== undefined)
      await ctx.index.add(principal, change.id, change.meta.expiresAt, budget.until)
  } catch (err) {
    await withdraw()
    throw err
  }
  if (performance.now() >= deadline) {
    // Too late to commit: the caller answers (or has answered) STORE_UNAVAILABLE and the
    // client keeps the old id, which still loads. Never `gone`: that would log the user out.
    await withdraw()
    throw new SessionError(
      'STORE_UNAVAILABLE',
      'redis rotation did not reach its commit in time; nothing changed',
    )
  }

  const attempt = () => take(ctx, previousId, change.id)
  // Before answering, a take that Redis refused unwritten (the old record's master lacks its
  // replica, strict `waitForReplicas`) ends the rotation: nothing was taken, so the old id
  // still loads and STORE_UNAVAILABLE is the truth. After answering `saved`, the client holds
  // the new id and the take is sent again until it lands (below).
  const refused = Symbol('refused')
  const firstAttempt = () =>
    attempt().catch((err: unknown) => {
      if (isNothingWritten(err)) return refused
      throw err
    })
  const settle = async (taken: Taken): Promise<SaveResult> => {
    if (taken.result === 'gone') {
      await withdraw()
      return 'gone'
    }
    // Committed: the answer must not wait for this best-effort cleanup (a server that stops
    // now would turn a committed rotation into a STORE_UNAVAILABLE with the old id dead).
    if (taken.principal) ctx.resolutions.track(ctx.index.remove(taken.principal, previousId).catch(() => {}))
    return 'saved'
  }
  // From here a copy of the take may land: the caller waits for this function's answer even
  // past its bound (store.ts), or it could answer STORE_UNAVAILABLE for a rotation that commits.
  progress.committing = true
  const answer = await answerOf(firstAttempt, deadline)
  if (answer.answered && answer.value === refused) {
    await withdraw()
    throw new SessionError(
      'STORE_UNAVAILABLE',
      "redis rotation: the old record's master lacks its replica; nothing changed",
    )
  }
  if (answer.answered) return settle(answer.value as Taken)
  // The new record exists and the client is about to be told its id: that is the session now.
  // The take goes on until a copy answers, which makes the answer true (see above).
  const pending = answer.pending.then((value) => {
    if (value === refused) throw new Error('refused; sent again')
    return value as Taken
  })
  ctx.resolutions.track(
    answerOf(attempt, performance.now() + RESOLVE_MS, pending).then((late) =>
      late.answered ? settle(late.value) : undefined,
    ),
  )
  return 'saved'
}

interface Taken {
  result: 'taken' | 'moved' | 'gone'
  principal: string
}

async function take(ctx: RotationContext, id: string, newId: string): Promise<Taken> {
  const key = ctx.key(id)
  const now = Date.now()
  // No deadline: a take is safe to repeat and is sent until one copy answers (see above).
  const [result, principal] = await ctx.writes.script<[string, string]>(
    key,
    (c, guard) => c.sessionkitTake(key, markerKey(key), ...guard, newId, now, MARKER_MS),
    {},
    (r) => r[0] !== 'gone',
  )
  if (result !== 'taken' && result !== 'moved' && result !== 'gone') {
    throw new SessionError('STORE_ERROR', `redis rotation take refused its arguments (${principal})`)
  }
  if (result !== 'gone' || !ctx.legacy) return { result, principal: principal ?? '' }
  return { result: await ctx.legacy.takeFor(id, newId, now), principal: '' }
}
