/**
 * Counters a server process keeps about its own store traffic when the store has no server
 * statistics of its own to ask (DynamoDB Local): read by the harness over the stats port.
 */
export const counters = { storeRequests: 0, storeBytesSent: 0 }

export type Counters = typeof counters
