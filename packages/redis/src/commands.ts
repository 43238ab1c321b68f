import type { Cluster, Redis } from 'ioredis'
import { DELETE_LUA, INDEX_LUA, SAVE_LUA, TAKE_LEGACY_LUA, TAKE_LUA, TOUCH_LUA } from './scripts'

/** What SAVE_LUA and TOUCH_LUA answer: a result, then script-specific fields. */
export type Reply = [string | number, ...string[]]

/**
 * The scripts, as ioredis custom commands: EVALSHA, falling back to EVAL on a new connection.
 * Arguments travel as one array (ioredis flattens it), never spread into the call: a session
 * with tens of thousands of attributes would overflow the JS stack.
 */
export interface Scripts {
  sessionkitSave(key: string, args: (string | number)[]): Promise<Reply>
  sessionkitTouch(key: string, args: (string | number)[]): Promise<Reply>
  sessionkitTake(key: string, mode: string, now: number): Promise<string[] | null>
  sessionkitDelete(key: string): Promise<string | null>
  sessionkitTakeLegacy(key: string): Promise<[string, number] | null>
  sessionkitIndex(key: string, id: string, expiresAt: number, now: number): Promise<number | Reply>
}

export type Client = (Redis | Cluster) & Scripts

const SCRIPTS = {
  sessionkitSave: SAVE_LUA,
  sessionkitTouch: TOUCH_LUA,
  sessionkitTake: TAKE_LUA,
  sessionkitDelete: DELETE_LUA,
  sessionkitTakeLegacy: TAKE_LEGACY_LUA,
  sessionkitIndex: INDEX_LUA,
}

/** Defines the scripts once per client (several stores may share one client). */
export function withScripts(client: Redis | Cluster): Client {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    if (!(name in client)) client.defineCommand(name, { numberOfKeys: 1, lua })
  }
  return client as Client
}
