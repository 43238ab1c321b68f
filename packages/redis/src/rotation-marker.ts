/**
 * A rotation's take leaves a marker (new id, principal) where the old record was, for this
 * long. It lets a copy of the take sent again tell "an earlier copy of mine took it" from
 * "someone else took or deleted it", so it must outlive every copy the rotation may still send
 * ({@link RESOLVE_MS}) with a wide margin for a copy that waits in a paused server's socket.
 */
export const MARKER_MS = 5 * 60_000

/**
 * How long after answering a rotation goes on sending its take until one copy answers. Past
 * this the outcome stays unknown: the old record, if the take never ran, expires with its own
 * (pre-rotation) data.
 */
export const RESOLVE_MS = 60_000

/** The marker key of a record key: same hash tag, so the same Cluster slot. */
export function markerKey(recordKey: string): string {
  return `${recordKey}:moved`
}
