import type { Codec } from './codec'
import { SessionError } from './errors'
import { generateSessionId, isValidSessionId } from './ids'
import type { SessionStore } from './types'

/** Options of {@link SessionRepository}. */
export interface SessionRepositoryOptions {
  store: SessionStore
  /** Attribute codec; JSON by default. */
  codec?: Codec
  /** Idle timeout of new sessions in ms. Default: 1 day. */
  maxInactiveMs?: number
  /** Hard cap on a session's life from creation, whatever its activity. Default: none. */
  absoluteTimeoutMs?: number
  /**
   * An unchanged session's expiry is extended (one `touch`) at most this often: a
   * non-negative integer below `maxInactiveMs`, or `Infinity` for never (koa-session's rule).
   * Default: a tenth of the idle timeout, at most 60 s.
   */
  touchAfterMs?: number
  /** Encoded size (names + values, UTF-8) above which a save fails. Default: 1 MiB. */
  maxSizeBytes?: number
  generateId?: () => string
  validateId?: (id: string) => boolean
  /**
   * For a binding: the names its users wrote for these options (`{ absoluteTimeoutMs:
   * 'absoluteTimeout' }`), so an INVALID_OPTIONS message names the option the user set.
   */
  optionNames?: OptionNames
}

/** The name a binding's users write for each of core's timing and size options. */
export type OptionNames = Partial<
  Record<
    'maxInactiveMs' | 'absoluteTimeoutMs' | 'touchAfterMs' | 'maxSizeBytes' | 'browserSessionTimeoutMs',
    string
  >
>

/** `names[option]`, else core's own name. */
export const optionName = (names: OptionNames | undefined, option: keyof OptionNames): string =>
  names?.[option] ?? option

/** The INVALID_OPTIONS error of a duration option that is not a positive whole number of ms. */
export function invalidDuration(name: string, value: unknown): SessionError {
  return new SessionError(
    'INVALID_OPTIONS',
    `${name} must be a positive number of ms (a whole number, e.g. 3600000 for an hour), got ${String(value)}`,
  )
}

/** What a commit did. */
export type CommitResult =
  /** A new session was written. */
  | 'created'
  /** Changed attributes, metadata or id were written. */
  | 'saved'
  /** Nothing changed; expiry was extended. */
  | 'touched'
  /** Nothing changed and no touch was due: no round trip. */
  | 'unchanged'
  /** A new, unmodified session was not written (saveUninitialized off). */
  | 'skipped'
  /** The session was deleted. */
  | 'destroyed'
  /** The record was deleted or expired meanwhile (e.g. logout elsewhere); nothing was written. */
  | 'gone'

/** Options of one commit. */
export interface CommitOptions {
  /** Write a new session even when it holds no attributes. Default: false. */
  saveUninitialized?: boolean
  /**
   * Write even when nothing changed: creates a new empty session, touches an existing one
   * although no touch is due (an explicit `save()`, express-session's `resave`).
   */
  force?: boolean
}

const DAY = 86_400_000

/** {@link SessionRepositoryOptions} checked, with every default applied. */
export interface RepositorySettings {
  maxInactiveMs: number
  absoluteTimeoutMs: number | undefined
  maxSizeBytes: number
  /** `undefined`: a tenth of the session's idle timeout, at most 60 s. */
  touchAfterMs: number | undefined
  generateId: () => string
  validateId: (id: string) => boolean
}

/** Checks the options (a `SessionError` INVALID_OPTIONS names the first bad one) and applies the defaults. */
export function repositorySettings(options: SessionRepositoryOptions): RepositorySettings {
  const names = options.optionNames
  const maxInactiveMs = positive(options.maxInactiveMs, DAY, optionName(names, 'maxInactiveMs'), 'ms')
  const absoluteTimeoutMs =
    options.absoluteTimeoutMs === undefined
      ? undefined
      : positive(options.absoluteTimeoutMs, 0, optionName(names, 'absoluteTimeoutMs'), 'ms')
  const maxSizeBytes = positive(options.maxSizeBytes, 1024 * 1024, optionName(names, 'maxSizeBytes'), 'bytes')
  const touchAfter = options.touchAfterMs
  if (
    touchAfter !== undefined &&
    touchAfter !== Number.POSITIVE_INFINITY &&
    !(Number.isSafeInteger(touchAfter) && touchAfter >= 0 && touchAfter < maxInactiveMs)
  ) {
    // A touch interval at or past the idle timeout lets an active session expire between touches.
    throw new SessionError(
      'INVALID_OPTIONS',
      `${optionName(names, 'touchAfterMs')} must be a whole number of ms from 0 to below the idle timeout (${maxInactiveMs} ms), or Infinity for never, got ${touchAfter}`,
    )
  }
  return {
    maxInactiveMs,
    absoluteTimeoutMs,
    maxSizeBytes,
    touchAfterMs: touchAfter,
    generateId: options.generateId ?? generateSessionId,
    validateId: options.validateId ?? isValidSessionId,
  }
}

function positive(value: number | undefined, fallback: number, name: string, unit: 'ms' | 'bytes'): number {
  if (value === undefined) return fallback
  // Integers: every store keeps milliseconds as integers, and Redis refuses anything else.
  if (!Number.isSafeInteger(value) || value <= 0) {
    if (unit === 'ms') throw invalidDuration(name, value)
    throw new SessionError(
      'INVALID_OPTIONS',
      `${name} must be a positive whole number of bytes (e.g. 1048576 for 1 MiB), got ${value}`,
    )
  }
  return value
}
