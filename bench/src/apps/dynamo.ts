import type { ServerConfig } from '../matrix'
import type { SessionStore } from './stores'

/**
 * Our DynamoDB store against DynamoDB Local. Every request the SDK sends is counted (and its
 * body bytes), so the harness can report requests per operation.
 */
export async function dynamoStoreFor(_config: ServerConfig): Promise<SessionStore> {
  throw new Error('@sessionkit/dynamodb exports no store yet')
}
