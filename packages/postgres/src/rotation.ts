import type { SaveResult, SessionChange } from '@sessionkit/core'
import { isSessionError } from '@sessionkit/core'
import { sqlState } from './errors'
import type { Executor, Query } from './executor'
import type { KeptLegacy } from './keep'
import type { LegacyRows } from './migration'
import { bind, type Statements } from './statements'

/** Pauses between the copies of a rotation sent again, in ms; the last one repeats. */
const BACKOFF_MS = [10, 25, 50, 100, 250, 500, 1000]
/** How long a rotation whose answer was lost is sent again in the background. */
const REPLAY_MS = 60_000

/**
 * Rotation is one statement (rotation() in statements.ts) and safe to repeat: the new id is
 * random and known only to this request, so a copy sent after another one committed finds the
 * previous row gone and the new one present, and changes nothing. That makes a lost answer
 * resolvable the way the redis and dynamodb stores do it:
 *
 * - no statement sent (no connection): STORE_UNAVAILABLE, and nothing can have happened.
 * - the server answered with an error (a SQLSTATE): the statement rolled back; that error.
 * - sent, and no answer (the connection broke, or the bound passed while the statement waited
 *   on a lock or a hung server): it may have committed or may still commit. The answer is
 *   `saved`, and the statement is sent again in the background until one copy answers (up to a
 *   minute), so the rotation commits exactly once unless the session was deleted meanwhile.
 */
export class Rotations {
  readonly #pending = new Set<Promise<unknown>>()
  /** New id → its rotation being sent again: a load of that id waits for it (see `waitFor`). */
  readonly #replaying = new Map<string, Promise<unknown>>()

  constructor(
    private readonly executor: Executor,
    private readonly statements: Statements,
    private readonly legacy: LegacyRows | undefined,
    private readonly kept: KeptLegacy | undefined,
  ) {}

  /** `values`: the rotation statement's, computed once so that every copy is the same statement. */
  async rotate(given: SessionChange, values: unknown[]): Promise<SaveResult> {
    // A copy: a replay runs after the call returned, and the caller may reuse its objects.
    const change = { ...given, meta: { ...given.meta }, set: { ...given.set }, removed: [...given.removed] }
    const { id } = change
    const progress = { sent: false }
    try {
      return await this.executor.run('save', (query) => this.once(query, change, values, false), progress)
    } catch (err) {
      if (!progress.sent || !isSessionError(err, 'STORE_UNAVAILABLE') || sqlState(err.cause) !== undefined)
        throw err
      const replay = this.replay(change, values).finally(() => this.#replaying.delete(id))
      this.#replaying.set(id, replay)
      this.track(replay)
      return 'saved'
    }
  }

  /** One copy of the rotation; `again` when an earlier copy may have committed. */
  private async once(
    query: Query,
    change: SessionChange,
    values: unknown[],
    again: boolean,
  ): Promise<SaveResult> {
    const [row] = await query(bind(this.statements.rotate, values))
    let found = row?.found === true
    let moved = row?.moved === true
    if (!found && this.kept)
      ({ found, moved } = await this.kept.rotate(query, change, Number(values[1]), again))
    else if (!found && this.legacy) ({ found, moved } = await this.legacy.rotateFrom(query, values))
    if (found) return moved ? 'saved' : 'collision'
    if (!again) return 'gone'
    // The previous row is gone: an earlier copy moved it if the new id exists.
    const [present] = await query(bind(this.statements.load, [change.id, Date.now()]))
    return present ? 'saved' : 'gone'
  }

  private async replay(change: SessionChange, values: unknown[]): Promise<void> {
    const until = performance.now() + REPLAY_MS
    for (let n = 0; performance.now() < until && !this.executor.closed; n++) {
      // Unref'd: a process that is shutting down does not wait for a replay.
      await new Promise((r) => setTimeout(r, BACKOFF_MS[Math.min(n, BACKOFF_MS.length - 1)]).unref())
      try {
        await this.executor.run('save (rotation sent again)', (query) =>
          this.once(query, change, values, true),
        )
        return
      } catch (err) {
        // The server answered: this copy rolled back, and an earlier one either committed or
        // not; the previous row's lock orders them, so a copy that answers settles it.
        if (!isSessionError(err, 'STORE_UNAVAILABLE')) return
      }
    }
  }

  /**
   * The client was handed `id` by a rotation still being sent again: its next request (here, in
   * the same process) would otherwise find nothing and start a new, logged-out session. Waits at
   * most `ms` for that rotation to be settled.
   */
  async waitFor(id: string, ms: number): Promise<void> {
    const replay = this.#replaying.get(id)
    if (!replay) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([replay, new Promise((r) => (timer = setTimeout(r, ms)))])
    clearTimeout(timer)
  }

  private track(work: Promise<unknown>): void {
    const done = work.finally(() => this.#pending.delete(done))
    this.#pending.add(done)
  }

  /** Resolves once every rotation sent again in the background has an answer (or gave up). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending)
  }
}
