import { randomBytes } from 'node:crypto'
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb'
import { isSessionError } from '@sessionkit/core'
import type { DynamoDBLocal } from '@sessionkit/test-servers'
import { DynamoDBStore, type DynamoDBStoreOptions } from '../src/index'

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
export function severableClient(server: DynamoDBLocal, deadPort: number) {
  const client = new DynamoDBClient({ ...server.clientConfig, maxAttempts: 2 })
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

export const TABLE = 'sessions'

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
