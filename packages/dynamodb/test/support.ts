import { randomBytes } from 'node:crypto'
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb'
import type { SessionChange } from '@sessionkit/core'
import { isSessionError } from '@sessionkit/core'
import type { DynamoDBLocalClientConfig } from '@sessionkit/test-servers'
import { expect, inject } from 'vitest'
import { DynamoDBStore, type DynamoDBStoreOptions } from '../src/index'
import { TABLE } from './table'

export { TABLE }

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodb: DynamoDBLocalClientConfig
  }
}

/** The DynamoDB Local that test/global-setup.ts started for this run (its table: {@link TABLE}). */
export function sharedServer(): DynamoDBLocalClientConfig {
  return inject('dynamodb')
}

export function newId(): string {
  return randomBytes(32).toString('base64url')
}

export function meta(ttlMs = 600_000, principal?: string) {
  const now = Date.now()
  return { createdAt: now, lastAccessedAt: now, maxInactiveMs: ttlMs, expiresAt: now + ttlMs, principal }
}

/** Requests per command name, counted by an SDK middleware (once per command, not per retry). */
export function countRequests(client: DynamoDBClient) {
  const counts: Record<string, number> = {}
  client.middlewareStack.add(
    (next, context) => (args) => {
      const name = String(context.commandName)
      counts[name] = (counts[name] ?? 0) + 1
      return next(args)
    },
    { step: 'initialize', name: 'sessionkitRequestCounter' },
  )
  return {
    counts,
    reset: () => {
      for (const name of Object.keys(counts)) delete counts[name]
    },
  }
}

/**
 * A client whose requests can be sent to a port where nothing listens: the store's backend
 * becomes unreachable (connection refused) while the server keeps serving everyone else.
 */
export function severableClient(deadPort: number) {
  const client = new DynamoDBClient({ ...sharedServer(), maxAttempts: 2 })
  let severed = false
  client.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { port?: number }
      if (severed) request.port = deadPort
      return next(args)
    },
    { step: 'finalizeRequest', name: 'sessionkitSever' },
  )
  return {
    client,
    sever: () => {
      severed = true
    },
  }
}

export function storeOn(client: DynamoDBClient, options: Partial<DynamoDBStoreOptions> = {}) {
  return new DynamoDBStore({ client, tableName: TABLE, ...options })
}

/** The raw item under `id`, read consistently with another client. */
export async function readRaw(admin: DynamoDBClient, id: string) {
  const { Item } = await admin.send(
    new GetItemCommand({ TableName: TABLE, Key: { id: { S: id } }, ConsistentRead: true }),
  )
  return Item
}

/** The outcome and duration of one store call, never throwing. */
export async function timed<T>(fn: () => Promise<T>) {
  const started = performance.now()
  try {
    const value = await fn()
    return { ok: true as const, value, ms: performance.now() - started }
  } catch (error) {
    return {
      ok: false as const,
      error,
      unavailable: isSessionError(error, 'STORE_UNAVAILABLE'),
      ms: performance.now() - started,
    }
  }
}

/** A store on its own client, with the requests it sends counted per command. */
export function countedStore(options: { consistentReads?: boolean } = {}) {
  const client = new DynamoDBClient(sharedServer())
  const requests = countRequests(client)
  return { client, store: storeOn(client, options), requests }
}

export const create = (store: DynamoDBStore, set: Record<string, string>, m = meta()) =>
  store.save({ id: newId(), isNew: true, meta: m, set, removed: [] })

export async function created(store: DynamoDBStore, set: Record<string, string> = { a: '1' }, m = meta()) {
  const id = newId()
  expect(await store.save({ id, isNew: true, meta: m, set, removed: [] })).toBe('saved')
  return id
}

/** A save's metadata in the delta shape: fields this request did not change are absent. */
export const delta = (fields: Record<string, unknown>) => fields as unknown as SessionChange['meta']
