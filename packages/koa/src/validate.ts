import { SessionError } from '@sessionkit/core'

/**
 * One problem with an option, in the shape koa-session's validator (zod 3) reports it, so
 * code and logs that read `err.issues` keep working.
 */
export interface OptionIssue {
  code: 'invalid_type' | 'invalid_union' | 'invalid_literal'
  /** `invalid_union`: why each alternative failed, as zod 3 serializes its errors. */
  unionErrors?: { issues: OptionIssue[]; name: 'ZodError' }[]
  expected?: string
  received?: unknown
  path: (string | number)[]
  message: string
}

type Expected = 'string' | 'number' | 'boolean' | 'function' | 'object'

/** zod 3's name for the type of a value. */
function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isNaN(value) ? 'nan' : 'number'
  if (value instanceof Date) return 'date'
  if (value instanceof Promise) return 'promise'
  if (value instanceof Map) return 'map'
  if (value instanceof Set) return 'set'
  return typeof value
}

/** Collects the issues of one options object, then throws them all at once. */
export class OptionChecker {
  readonly issues: OptionIssue[] = []

  /** Checks `value` at `path` is of `expected` type (`optional`: undefined passes). */
  type(value: unknown, expected: Expected, path: (string | number)[], optional: boolean): boolean {
    if (value === undefined && optional) return true
    const received = typeName(value)
    if (received === expected) return true
    this.issues.push({
      code: 'invalid_type',
      expected,
      received,
      path,
      message: received === 'undefined' ? 'Required' : `Expected ${expected}, received ${received}`,
    })
    return false
  }

  /** Checks an optional object whose listed members must be functions. */
  functions(value: unknown, path: string, members: string[]): void {
    if (!this.type(value, 'object', [path], true) || value === undefined) return
    for (const member of members) {
      this.type((value as Record<string, unknown>)[member], 'function', [path, member], false)
    }
  }

  /** `maxAge`: a number, `'session'`, or absent. */
  maxAge(value: unknown): void {
    const received = typeName(value)
    if (value === undefined || value === 'session' || received === 'number') return
    const path = ['maxAge']
    this.issues.push({
      code: 'invalid_union',
      unionErrors: [
        {
          issues: [
            {
              code: 'invalid_type',
              expected: 'number',
              received,
              path,
              message: `Expected number, received ${received}`,
            },
          ],
          name: 'ZodError',
        },
        {
          issues: [
            {
              received: value,
              code: 'invalid_literal',
              expected: 'session',
              path,
              message: 'Invalid literal value, expected "session"',
            },
          ],
          name: 'ZodError',
        },
      ],
      path,
      message: 'Invalid input',
    })
  }

  /** Throws every collected issue, with koa-session's message (the issues as JSON). */
  throwIfAny(): void {
    if (this.issues.length === 0) return
    const err = new SessionError('INVALID_OPTIONS', JSON.stringify(this.issues, null, 2))
    Object.defineProperty(err, 'issues', { value: this.issues, enumerable: true })
    throw err
  }
}

/** A failed precondition, with koa-session's message for it. */
export function optionsError(message: string): SessionError {
  return new SessionError('INVALID_OPTIONS', message)
}
