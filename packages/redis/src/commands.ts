import type { Cluster, Redis } from 'ioredis'
import { DELETE_LUA, INDEX_LUA, SAVE_LUA, TAKE_LEGACY_LUA, TAKE_LUA, TOUCH_LUA } from './scripts'

/** What SAVE_LUA and TOUCH_LUA answer: a result, then script-specific fields. */
export type Reply = [string | number, ...string[]]

/**
 * What a guarded script answers (scripts.ts `guarded`): refused past its deadline, refused for
 * want of replicas (with their count), or done (online replicas, -1 when not counted; its answer).
 */
export type Guarded<T> = ['late'] | ['noreplicas', number] | ['done', number, T]

/**
 * The scripts, as ioredis custom commands: EVALSHA, falling back to EVAL on a new connection.
 * Arguments travel as one array (ioredis flattens it), never spread into the call: a session
 * with tens of thousands of attributes would overflow the JS stack.
 */
export interface Scripts {
  /**
   * `args`: the script's own; or 'guard', the guard's three, then the script's own, and the
   * answer is {@link Guarded} (scripts.ts `guarded`).
   */
  sessionkitSave(key: string, args: (string | number)[]): Promise<Reply>
  sessionkitTouch(key: string, args: (string | number)[]): Promise<Reply>
  /** `args`: new id, now, marker lifetime; or 'guard', the guard's three, then those. */
  sessionkitTake(key: string, marker: string, ...args: (string | number)[]): Promise<[string, string]>
  /** `args`: none; or 'guard' and the guard's three. */
  sessionkitDelete(key: string, ...args: (string | number)[]): Promise<string | null>
  sessionkitTakeLegacy(
    key: string,
    marker: string,
    newId: string,
    keepMs: number,
  ): Promise<[string, number] | ['moved'] | null>
  /** `args`: 'guard', the guard's three, then id, expiresAt, now. */
  sessionkitIndex(key: string, args: (string | number)[]): Promise<Guarded<number | Reply>>
}

export type Client = (Redis | Cluster) & Scripts

/** Script and the number of keys it is given (the takes also write a marker in the key's slot). */
const SCRIPTS: Record<string, [string, number]> = {
  sessionkitSave: [SAVE_LUA, 1],
  sessionkitTouch: [TOUCH_LUA, 1],
  sessionkitTake: [TAKE_LUA, 2],
  sessionkitDelete: [DELETE_LUA, 1],
  sessionkitTakeLegacy: [TAKE_LEGACY_LUA, 2],
  sessionkitIndex: [INDEX_LUA, 1],
}

/** Defines the scripts once per client (several stores may share one client). */
export function withScripts(client: Redis | Cluster): Client {
  for (const [name, [lua, numberOfKeys]] of Object.entries(SCRIPTS)) {
    if (!(name in client)) client.defineCommand(name, { numberOfKeys, lua })
  }
  return client as Client
}
