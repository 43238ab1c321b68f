/**
 * Counters a server process keeps about its own store traffic when the store has no server
 * statistics of its own to ask (DynamoDB Local), or when only the client sees it (PostgreSQL's
 * round trips): read by the harness over the stats port.
 */
export const counters = { storeRequests: 0, storeBytesSent: 0 }

/** What the stats port answers: the counters and the process' CPU time so far. */
export type Counters = typeof counters & { cpuMicros: number }
