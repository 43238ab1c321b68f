import { SessionError } from '@sessionkit/core'
import type { Cluster, Redis } from 'ioredis'
import { type Client, type Guarded, withScripts } from './commands'
import { slotOf } from './slot'

/** `waitForReplicas` as given to the store. */
export interface ReplicaWait {
  replicas: number
  timeoutMs: number
  onShortfall?: 'error' | 'accept'
}

/**
 * The cause of a STORE_UNAVAILABLE that Redis itself answered before writing anything (the
 * script found fewer replicas than asked, or the master is known to lack them): the one failure
 * of a write whose outcome is certain.
 */
export const NOTHING_WRITTEN: unique symbol = Symbol('nothing written')

export function isNothingWritten(err: unknown): boolean {
  return (err as { cause?: unknown } | undefined)?.cause === NOTHING_WRITTEN
}

/** The guard arguments of one write (see scripts.ts `guarded`). */
export interface WriteBudget {
  /** Redis-clock ms past which the script writes nothing; undefined = no deadline. */
  deadline?: number
  /**
   * `performance.now()` until which an 'accept' write waits for its replica; past it the write
   * (which the master has) is answered as saved, so writes answer within the store's bound.
   */
  until?: number
}

/**
 * A master known to lack replicas is remembered this long after the last sign of it (a script
 * counted fewer online, or a WAIT came short). Guarded scripts count for themselves every time;
 * this only decides whether the other writes (index removals) wait or are refused unsent.
 */
const SHORT_MS = 1000

interface NodeState {
  shortUntil: number
  /** The WAIT on this master's connection now, and the one queued behind it. */
  waiting?: Promise<number>
  next?: Promise<number>
}

/**
 * Every write the store makes goes through here. Without `waitForReplicas` it is the command
 * alone, on the app's client. With it:
 *
 * - Writes and their WAITs go on a connection of their own, a `duplicate()` of the client the
 *   store creates (one more connection per store on standalone and Sentinel, one more per
 *   master it writes to on Cluster; closed by `store.close()` or when the app's client ends).
 *   WAIT blocks the connection it is sent on until the replica answers or `timeoutMs` passes,
 *   and loads sent behind it would wait as long; reads stay on the app's client.
 * - Group commit: WAIT answers for every write its connection made before it, so one WAIT per
 *   master is in flight at a time, and the writes answered while it blocks share the next one.
 *   A write costs its command plus a WAIT round trip, and writes never queue behind one
 *   another's WAIT for more than one `timeoutMs`.
 * - Saves, touches, deletes, takes and index updates count the master's online replicas in
 *   their script before writing (scripts.ts `guarded`). With too few, 'error' writes nothing
 *   and answers STORE_UNAVAILABLE at once; 'accept' writes and skips the WAIT that could only
 *   time out. The other writes (index removals) do the same from what the last count on that
 *   master said ({@link SHORT_MS}): refused unsent, or sent without WAIT.
 *
 * So with a replica gone, reads are not slowed at all, and writes answer within one round
 * trip ('accept': saved, unreplicated; 'error': STORE_UNAVAILABLE, nothing written). A logout
 * that a failover loses would bring the session back: that is what the wait is for.
 */
export class Writes {
  /** Where writes are sent: the store's own connection with `waitForReplicas`, else the app's client. */
  readonly target: Client
  readonly #owned: (Redis | Cluster) | undefined
  readonly #nodes = new Map<string, NodeState>()
  /**
   * Until the store's connection is first ready: with `enableOfflineQueue: false` (which the
   * README allows once your client is ready) a write sent before would fail at once.
   */
  #connecting: Promise<void> | undefined

  constructor(
    client: Client,
    private readonly wait: ReplicaWait | undefined,
  ) {
    if (!wait) {
      this.target = client
      return
    }
    const writer: Redis | Cluster = client.isCluster
      ? (client as Cluster).duplicate()
      : (client as Redis).duplicate()
    // The app listens for its client's errors; a connection the store owns reports there too
    // (an EventEmitter without a listener would throw).
    writer.on('error', (err: unknown) => {
      if (client.listenerCount('error') > 0) client.emit('error', err)
    })
    // An app that ends its client without closing the store does not keep a process alive.
    client.once('end', () => writer.disconnect())
    this.#owned = writer
    this.target = withScripts(writer)
    this.#connecting = new Promise<void>((resolve) => writer.once('ready', () => resolve())).then(() => {
      this.#connecting = undefined
    })
  }

  close(): void {
    this.#owned?.disconnect()
  }

  /** The guard arguments of a script: the marker, deadline, replicas wanted, refuse on shortfall. */
  guard(budget: WriteBudget): (string | number)[] {
    const wait = this.wait
    const refuse = wait && wait.onShortfall !== 'accept' ? '1' : '0'
    return ['guard', budget.deadline ?? '', wait?.replicas ?? 0, refuse]
  }

  /**
   * A guarded script (save, touch, delete, take, index). `wrote` tells from its answer whether anything was
   * written; only then is a replica waited for.
   */
  async script<T>(
    key: string,
    run: (target: Client, guard: (string | number)[]) => Promise<unknown>,
    budget: WriteBudget,
    wrote: (reply: T) => boolean = () => true,
  ): Promise<T> {
    if (this.#connecting) await this.#connecting
    const reply = (await run(this.target, this.guard(budget))) as Guarded<T>
    if (reply[0] === 'late') {
      throw new SessionError(
        'STORE_UNAVAILABLE',
        'redis write reached the server after the store had given up on it; nothing was written',
        { cause: NOTHING_WRITTEN },
      )
    }
    const wanted = this.wait
    if (reply[0] === 'noreplicas') {
      this.#mark(key, true)
      throw new SessionError(
        'STORE_UNAVAILABLE',
        `redis master has ${reply[1]} of ${wanted?.replicas} replicas online; nothing was written`,
        { cause: NOTHING_WRITTEN },
      )
    }
    const [, online, value] = reply
    if (!wanted || !wrote(value)) return value
    if (Number(online) < wanted.replicas) {
      // 'accept' (else the script refused): the WAIT could only time out.
      this.#mark(key, true)
      return value
    }
    this.#mark(key, false)
    await this.#acked(key, budget.until)
    return value
  }

  /** A write without a guard (takes, deletes, index removals), waited for as configured. */
  async send<T>(
    key: string,
    command: (target: Client) => Promise<T>,
    wrote?: (reply: T) => boolean,
    budget: WriteBudget = {},
  ): Promise<T> {
    const wanted = this.wait
    if (!wanted) return command(this.target)
    if (this.#connecting) await this.#connecting
    const short = this.#node(key).shortUntil > performance.now()
    if (short && wanted.onShortfall !== 'accept') {
      throw new SessionError(
        'STORE_UNAVAILABLE',
        `redis master of ${key.slice(0, 12)}… has fewer than ${wanted.replicas} replicas online; nothing was sent`,
        { cause: NOTHING_WRITTEN },
      )
    }
    const reply = await command(this.target)
    if (!short && (wrote === undefined || wrote(reply))) await this.#acked(key, budget.until)
    return reply
  }

  async #acked(key: string, until: number | undefined): Promise<void> {
    const wanted = this.wait!
    const accept = wanted.onShortfall === 'accept'
    // The master answered the write (having counted its replicas online), then the WAIT failed
    // instead of answering: its connection closed (the master was killed, the link dropped) or
    // the cluster reported itself down during a failover. Redis sends a write to its replicas
    // in the same turn of its event loop as the write's answer, so the replica it counted has
    // it, unless that very link failed at the same moment: the write counts as replicated.
    // Answering STORE_UNAVAILABLE would be false in every other case (the write lands on the
    // promoted replica, and an app that retries applies it twice).
    const pending = this.#ack(key).catch(() => wanted.replicas)
    let acked: number
    if (accept) {
      // The master has the write: past `timeoutMs` (a write may wait for the WAIT in flight
      // before its own), or past the store's bound, the answer is "saved", what 'accept' means.
      const by = Math.min(until ?? Number.POSITIVE_INFINITY, performance.now() + wanted.timeoutMs)
      let timer: NodeJS.Timeout | undefined
      acked = await Promise.race([
        pending,
        new Promise<number>((resolve) => {
          timer = setTimeout(() => resolve(0), Math.max(0, by - performance.now()))
        }),
      ])
      clearTimeout(timer)
    } else {
      acked = await pending
      // 'error': the script counted the replica online, so it is slow rather than gone (a gone
      // replica makes the next scripts refuse). Wait again while the bound allows one more
      // full WAIT: a 503 for a write the replica is about to have would be false.
      while (acked < wanted.replicas && until !== undefined && performance.now() + wanted.timeoutMs < until) {
        acked = await this.#ack(key).catch(() => wanted.replicas)
      }
    }
    if (acked >= wanted.replicas) return
    this.#mark(key, true)
    if (accept) return
    throw new SessionError(
      'STORE_UNAVAILABLE',
      `write to ${key.slice(0, 12)}… reached ${acked} of ${wanted.replicas} replicas within ${wanted.timeoutMs} ms; it is on the master`,
    )
  }

  /**
   * The number of replicas that have this write: a WAIT sent after the write answered. One
   * WAIT per master at a time; a write answered while one is blocking may have come after it
   * on the connection, so it takes the next one, which every such write shares.
   */
  #ack(key: string): Promise<number> {
    const node = this.#node(key)
    if (!node.waiting) return this.#startWait(node, key)
    node.next ??= node.waiting
      .then(
        () => {},
        () => {},
      )
      .then(() => {
        node.next = undefined
        return this.#startWait(node, key)
      })
    return node.next
  }

  #startWait(node: NodeState, key: string): Promise<number> {
    const sent = this.#sendWait(key)
    node.waiting = sent
    const clear = () => {
      if (node.waiting === sent) node.waiting = undefined
    }
    sent.then(clear, clear)
    return sent
  }

  async #sendWait(key: string, attempt = 1): Promise<number> {
    const { replicas, timeoutMs } = this.wait!
    const target = this.target
    if (!target.isCluster) return Number(await (target as Redis).wait(replicas, timeoutMs))
    // Cluster: WAIT has no key; a read of the key in the same pipeline sends it to the key's
    // master, on the connection the write went through.
    const replies = (await target.pipeline().exists(key).wait(replicas, timeoutMs).exec()) ?? []
    const [[err], [waitErr, acked]] = replies as [[Error | null], [Error | null, number]]
    if (err && /^(MOVED|ASK) /.test(err.message) && attempt < 4) {
      // ioredis follows a redirection for a pipeline only when every command in it was
      // redirected, which the keyless WAIT never is: a single command follows it and updates
      // the slot map.
      await target.exists(key)
      return this.#sendWait(key, attempt + 1)
    }
    // The read only routes the WAIT; its own error (CLUSTERDOWN while a failover runs) says
    // nothing about the replicas, which the WAIT answered.
    if (waitErr) throw waitErr
    return Number(acked)
  }

  #node(key: string): NodeState {
    const target = this.target
    const name = target.isCluster ? ((target as Cluster).slots[slotOf(key)]?.[0] ?? '?') : 'master'
    let node = this.#nodes.get(name)
    if (!node) {
      node = { shortUntil: 0 }
      this.#nodes.set(name, node)
    }
    return node
  }

  #mark(key: string, short: boolean): void {
    this.#node(key).shortUntil = short ? performance.now() + SHORT_MS : 0
  }
}
