import { randomBytes } from 'node:crypto'
import type { SessionMeta, SessionMetaChange, SessionRecord, SessionStore } from '@sessionkit/core'
import assert from './assert'

/** An id shaped like core's (24 random bytes, base64url: 32 characters), so stores that validate ids accept it. */
export function newId(): string {
  return randomBytes(24).toString('base64url')
}

/** Random suffix: principals are not namespaced by every backend the same way, so never share one. */
export function newPrincipal(label = 'user'): string {
  return `${label}-${randomBytes(6).toString('hex')}`
}

export function freshMeta(overrides: Partial<SessionMeta> = {}, ttlMs = 10 * 60_000): SessionMeta {
  const now = Date.now()
  return { createdAt: now, lastAccessedAt: now, maxInactiveMs: ttlMs, expiresAt: now + ttlMs, ...overrides }
}

export interface Created {
  id: string
  meta: SessionMeta
}

export async function create(
  store: SessionStore,
  attributes: Record<string, string> = {},
  meta: SessionMeta = freshMeta(),
): Promise<Created> {
  const id = newId()
  // A create carries the whole metadata: no owner is `null`.
  const whole = { ...meta, principal: meta.principal ?? null }
  const result = await store.save({ id, isNew: true, meta: whole, set: { ...attributes }, removed: [] })
  assert.equal(result, 'saved', 'creating a session under a fresh id must answer "saved"')
  return { id, meta }
}

/** Compares as Maps: a store may return a null-prototype object, and key order is not part of the contract. */
export function assertAttributes(
  record: SessionRecord | undefined,
  expected: Record<string, string>,
  message: string,
): asserts record is SessionRecord {
  assert.ok(record, `${message}: the record is missing`)
  assert.deepEqual(new Map(Object.entries(record.attributes)), new Map(Object.entries(expected)), message)
}

/** `meta` is what the record must hold: a whole metadata block (`principal: null` means none). */
export function assertMeta(
  record: SessionRecord | undefined,
  meta: SessionMeta | SessionMetaChange,
  message: string,
): void {
  assert.ok(record, `${message}: the record is missing`)
  assert.deepEqual(
    {
      createdAt: record.createdAt,
      lastAccessedAt: record.lastAccessedAt,
      maxInactiveMs: record.maxInactiveMs,
      expiresAt: record.expiresAt,
      principal: record.principal,
    },
    {
      createdAt: meta.createdAt,
      lastAccessedAt: meta.lastAccessedAt,
      maxInactiveMs: meta.maxInactiveMs,
      expiresAt: meta.expiresAt,
      principal: meta.principal ?? undefined,
    },
    message,
  )
}

export function sortedIds(records: readonly SessionRecord[]): string[] {
  return records.map((r) => r.id).sort()
}

/** Expiry has no event to await: the only way to observe it is to let the clock pass the instant. */
export async function waitUntilPast(instant: number): Promise<void> {
  while (Date.now() <= instant) {
    await new Promise((resolve) => setTimeout(resolve, instant - Date.now() + 1))
  }
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown }

/** Settles `promise`, failing the case if it takes longer than `ms`: a store must never hang. */
export async function settleWithin<T>(promise: Promise<T>, ms: number, label: string): Promise<Settled<T>> {
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new assert.AssertionError({ message: `${label} did not settle within ${ms} ms` })),
      ms,
    )
  })
  try {
    return await Promise.race([
      promise.then(
        (value): Settled<T> => ({ ok: true, value }),
        (error: unknown): Settled<T> => ({ ok: false, error }),
      ),
      bound,
    ])
  } finally {
    clearTimeout(timer)
  }
}

export function isAbsentRaw(raw: unknown): boolean {
  return raw === undefined || raw === null
}

/**
 * Creates a short-lived session and extends it (by touch, or by a save that sets
 * `extended: 'yes'`) to a long life before its first expiry. The window must outlast two
 * round trips, which on a loaded machine or a cold Cluster client can exceed any fixed guess:
 * an extension that lands after the instant proves nothing, so the attempt is repeated with
 * a longer window; one refused in time fails the case.
 */
export async function createAndExtendInTime(
  store: SessionStore,
  attributes: Record<string, string>,
  how: 'touch' | 'save',
  principal?: string,
): Promise<Created> {
  for (const windowMs of [200, 1_000, 5_000]) {
    const meta = freshMeta(principal === undefined ? {} : { principal }, windowMs)
    const { id } = await create(store, attributes, meta)
    const later = freshMeta({ createdAt: meta.createdAt }, 60_000)
    const extended =
      how === 'touch'
        ? await store.touch(id, later)
        : (await store.save({ id, isNew: false, meta: later, set: { extended: 'yes' }, removed: [] })) ===
          'saved'
    if (extended) return { id, meta }
    assert.ok(Date.now() >= meta.expiresAt, `${how} of a live session must succeed`)
  }
  throw new assert.AssertionError({ message: `create + ${how} never finished within 5 s` })
}

/** {@link createAndExtendInTime} by touch. */
export function createAndTouchInTime(
  store: SessionStore,
  attributes: Record<string, string>,
  principal?: string,
): Promise<Created> {
  return createAndExtendInTime(store, attributes, 'touch', principal)
}

/** The two sides of a race: the store and, for a `shared` store, a second instance (`openPeer`). */
export async function racers(ctx: {
  store: SessionStore
  capabilities: { shared: boolean }
  openPeer(): Promise<SessionStore>
}): Promise<readonly [SessionStore, SessionStore]> {
  return [ctx.store, ctx.capabilities.shared ? await ctx.openPeer() : ctx.store]
}

/** Lets `turns` turns of the event loop pass: I/O callbacks of the other side may run in between. */
export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** The wait between the two starts: event-loop turns first, then milliseconds (a synchronous driver's peer thread needs a few to wake). */
const GAPS: readonly (readonly ['turns' | 'ms', number])[] = [
  ['turns', 0],
  ['turns', 1],
  ['turns', 4],
  ['ms', 1],
  ['ms', 3],
  ['ms', 6],
]

/**
 * Runs `a` and `b` concurrently with the interleaving trial `n` picks: which starts first, and
 * how long passes before the other starts (0 to 4 event-loop turns, 1 to 6 ms), so over the
 * trials each side reaches the backend first and lands inside the other's read-then-write window.
 */
export async function interleave<A, B>(n: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  const [unit, amount] = GAPS[Math.floor(n / 2) % GAPS.length]!
  const wait = () =>
    unit === 'turns' ? turns(amount) : new Promise((resolve) => setTimeout(resolve, amount))
  if (n % 2 === 0) {
    const first = a()
    first.catch(() => {}) // handled by Promise.all below; not "unhandled" while we wait
    await wait()
    return Promise.all([first, b()])
  }
  const first = b()
  first.catch(() => {})
  await wait()
  const second = a()
  const [rb, ra] = await Promise.all([first, second])
  return [ra, rb]
}

/**
 * Runs `trial(0)` … `trial(count - 1)` one after another: trials run side by side would queue
 * behind each other on a synchronous driver's thread, and no start order would hold.
 */
export async function eachTrial<T>(count: number, trial: (n: number) => Promise<T>): Promise<T[]> {
  const results: T[] = []
  for (let n = 0; n < count; n++) results.push(await trial(n))
  return results
}

/** Race cases run this many interleavings (each on its own session, concurrently). */
export const RACE_TRIALS = 36
