import type { SessionError } from '@sessionkit/core'
import { DEFAULTS, type SessionOptions as Options, schemaIssues } from './options'
import { OptionChecker } from './validate'

/** koa-session's option names, in the order of its zod schema (the order `parse` answers them in). */
const PEER_KEYS = [
  'key',
  'maxAge',
  'autoCommit',
  'overwrite',
  'httpOnly',
  'signed',
  'rolling',
  'renew',
  'secure',
  'sameSite',
  'externalKey',
  'store',
  'ContextStore',
  'encode',
  'decode',
  'genid',
  'prefix',
  'valid',
  'beforeSave',
] as const

/** The options only a sessionkit store reads: kept by `parse`, as koa-session's are. */
const SESSIONKIT_KEYS = [
  'cookieFormat',
  'secret',
  'browserSessionTimeout',
  'touchAfter',
  'absoluteTimeout',
  'maxSizeBytes',
  'codec',
  'migrate',
] as const

type Defaulted = keyof typeof DEFAULTS

/** What `SessionOptions.parse` answers: the known options, defaults filled in. */
export type ParsedSessionOptions = Omit<Options, Defaulted> & Required<Pick<Options, Defaulted>>

export type SafeParseResult =
  | { success: true; data: ParsedSessionOptions }
  | { success: false; error: SessionError & { issues: unknown[] } }

/** The members of koa-session 7's exported zod schema that apps call. */
export interface SessionOptionsSchema {
  /** A new object: the known options with their defaults; throws INVALID_OPTIONS with zod's `issues`. */
  parse(input: unknown): ParsedSessionOptions
  safeParse(input: unknown): SafeParseResult
  parseAsync(input: unknown): Promise<ParsedSessionOptions>
  safeParseAsync(input: unknown): Promise<SafeParseResult>
}

function parse(input: unknown): ParsedSessionOptions {
  const root = new OptionChecker()
  if (!root.type(input, 'object', [], false)) root.throwIfAny()
  const given = input as Record<string, unknown>
  const out: Record<string, unknown> = {}
  // As zod: unknown keys are dropped, a known key given as undefined is kept, defaults fill in.
  for (const name of [...PEER_KEYS, ...SESSIONKIT_KEYS]) {
    const value = given[name] === undefined ? (DEFAULTS as Record<string, unknown>)[name] : given[name]
    if (value !== undefined || name in given) out[name] = value
  }
  schemaIssues(out).throwIfAny()
  return out as ParsedSessionOptions
}

function safeParse(input: unknown): SafeParseResult {
  try {
    return { success: true, data: parse(input) }
  } catch (error) {
    return { success: false, error: error as SessionError & { issues: unknown[] } }
  }
}

/**
 * koa-session 7's `SessionOptions` schema: the same inputs are accepted and refused, with the
 * same `issues`, and the same keys come back with the same defaults. It is not a zod object:
 * errors are `SessionError`s (code `INVALID_OPTIONS`), functions and stores come back as
 * given (zod returns wrappers that check arguments at each call, and a copy of `store` with
 * only `get`, `set`, `destroy`), and sessionkit's own options are kept and checked too.
 *
 * @example
 * ```ts
 * import { SessionOptions } from '@sessionkit/koa'
 * const options = SessionOptions.parse(JSON.parse(process.env.SESSION_OPTIONS!))
 * ```
 */
export const SessionOptions: SessionOptionsSchema = Object.freeze({
  parse,
  safeParse,
  parseAsync: async (input: unknown) => parse(input),
  safeParseAsync: async (input: unknown) => safeParse(input),
})

/** koa-session's options; also the name of the schema value above, as koa-session exports both. */
export type SessionOptions = Options
