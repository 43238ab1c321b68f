import { randomBytes } from 'node:crypto'
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import type { Expressions } from './expressions'
import { FIELD } from './fields'

/**
 * Every single-item write carries a token of its own and records `a<token>` ("applied") in the
 * item it changes, on the condition that neither `a<token>` nor `f<token>` is there yet. When
 * the answer of a write is lost, the store writes `f<token>` ("fenced") on the condition that
 * `a<token>` is absent (fence.ts): if that succeeds the write had not run and no copy of it can
 * run any more; if it fails on `a<token>`, the write ran, once. The SDK's own retry of a write
 * that ran finds `a<token>` too and changes nothing.
 *
 * Marks live in three string-set slots by time: a write adds to the slot of the current
 * {@link MARK_MS} period and removes the slot of the period after it, which holds marks at
 * least one period old. So a mark stays at least {@link MARK_MS}, and an item carries only the
 * marks of its last two or three periods.
 */
export const MARK_MS = 5 * 60_000

const SLOTS = 3

/** The item attributes holding marks. */
export const MARK_FIELDS: readonly string[] = Array.from({ length: SLOTS }, (_, i) => `${FIELD.marks}${i}`)

/** One write's token and where its marks go now. */
export interface Marks {
  readonly token: string
  /** The slot written now. */
  readonly slot: string
  /** The slot holding marks at least {@link MARK_MS} old: emptied by this write. */
  readonly stale: string
}

/** 72 random bits: unique among one item's writes of a few periods. */
export const newToken = (): string => randomBytes(9).toString('base64url')

export function marksFor(token: string, now = Date.now()): Marks {
  const period = Math.floor(now / MARK_MS)
  return { token, slot: MARK_FIELDS[period % SLOTS]!, stale: MARK_FIELDS[(period + 1) % SLOTS]! }
}

export const appliedMark = (token: string): string => `a${token}`
export const fencedMark = (token: string): string => `f${token}`

/** Conditions `e` on `mark` being in no slot. */
export function conditionAbsent(e: Expressions, mark: string): void {
  const value = e.value({ S: mark })
  for (const field of MARK_FIELDS) e.condition(`NOT contains(${e.name(field)}, ${value})`)
}

/** Conditions a write on never having run and never having been fenced. */
export function conditionFirst(e: Expressions, marks: Marks): void {
  conditionAbsent(e, appliedMark(marks.token))
  conditionAbsent(e, fencedMark(marks.token))
}

/** An UpdateItem records `mark`, and drops the marks of the stale slot. */
export function addMark(e: Expressions, marks: Marks, mark: string): void {
  e.add([marks.slot], { SS: [mark] })
  e.remove([marks.stale])
}

/** A PutItem's item recording the write's mark; `stored` is the item it replaces, if read. */
export function withMark(
  item: Record<string, AttributeValue>,
  marks: Marks,
  stored?: Record<string, AttributeValue>,
): Record<string, AttributeValue> {
  const next = { ...item }
  const kept = stored?.[marks.slot]?.SS ?? []
  for (const field of MARK_FIELDS) delete next[field]
  if (stored !== undefined) {
    for (const field of MARK_FIELDS) {
      if (field !== marks.stale && field !== marks.slot && stored[field]?.SS) next[field] = stored[field]!
    }
  }
  next[marks.slot] = { SS: [...kept, appliedMark(marks.token)] }
  return next
}

export function hasMark(item: Record<string, AttributeValue> | undefined, mark: string): boolean {
  return MARK_FIELDS.some((field) => item?.[field]?.SS?.includes(mark) === true)
}
