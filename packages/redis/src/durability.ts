import { SessionError } from '@sessionkit/core'
import type { ChainableCommander } from 'ioredis'
import type { Client, Scripts } from './commands'

/** `waitForReplicas` as given to the store. */
export interface ReplicaWait {
  replicas: number
  timeoutMs: number
  onShortfall?: 'error' | 'accept'
}

/**
 * Every write the store makes goes through here: the command alone, or, with
 * `waitForReplicas`, the command followed in the same pipeline by `WAIT` on the node that owns
 * the key, so an acknowledged write (a save, a delete, either half of a rotation, an index
 * update) survives a failover. A logout that a failover loses would bring the session back.
 */
export class Writes {
  constructor(
    private readonly client: Client,
    private readonly wait: ReplicaWait | undefined,
  ) {}

  /**
   * Sends one write on `key`. `wrote` tells from the reply whether anything was written;
   * only then does a replica shortfall matter.
   */
  async send<T>(
    key: string,
    command: (target: Scripts & Client) => Promise<T>,
    wrote?: (reply: T) => boolean,
  ): Promise<T> {
    if (!this.wait) return command(this.client)
    const [reply, acked] = await this.withWait<T>(key, (p) => command(p as unknown as Scripts & Client))
    if (wrote === undefined || wrote(reply)) this.checkAcked(acked, key)
    return reply
  }

  private async withWait<T>(
    key: string,
    queue: (pipeline: ChainableCommander) => unknown,
    attempt = 1,
  ): Promise<[T, number]> {
    const wanted = this.wait!
    const pipeline = this.client.pipeline()
    // On a pipeline a command queues and returns the pipeline, not a reply.
    queue(pipeline)
    pipeline.wait(wanted.replicas, wanted.timeoutMs)
    const replies = (await pipeline.exec()) ?? []
    const [[err, reply], [waitErr, acked]] = replies as [[Error | null, T], [Error | null, number]]
    if (err && /^(MOVED|ASK) /.test(err.message) && attempt < 4) {
      // ioredis follows a redirection for a pipeline only when every command in it was
      // redirected, which the keyless WAIT never is. A single command on the key follows it
      // and updates the slot map; the command was not run, so sending it again is safe.
      await this.client.exists(key)
      return this.withWait(key, queue, attempt + 1)
    }
    if (err) throw err
    if (waitErr) throw waitErr
    return [reply, acked]
  }

  private checkAcked(acked: number, key: string): void {
    const wanted = this.wait!
    if (acked < wanted.replicas && wanted.onShortfall !== 'accept') {
      throw new SessionError(
        'STORE_UNAVAILABLE',
        `write to ${key.slice(0, 12)}… reached ${acked} of ${wanted.replicas} replicas within ${wanted.timeoutMs} ms`,
      )
    }
  }
}
