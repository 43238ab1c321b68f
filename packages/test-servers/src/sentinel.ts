import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { call, infoFields, type Reply, waitFor } from './resp'
import { type RedisServer, spawnServer } from './server'

export interface SentinelTopology {
  readonly masterName: string
  /** What `new Redis({ sentinels, name: masterName })` needs. */
  readonly sentinels: { host: string; port: number }[]
  /** The two data nodes (initially master, replica). */
  readonly nodes: RedisServer[]
  readonly sentinelServers: RedisServer[]
  /** The data node the sentinels currently name as master. */
  master(): Promise<RedisServer>
  /** A data node that is not the current master. */
  replica(): Promise<RedisServer>
  /** SIGKILLs the current master; resolves with the killed node. */
  killMaster(): Promise<RedisServer>
  /** Resolves with the new master once a sentinel names a node other than `old`, and it accepts writes. */
  waitForFailover(old: RedisServer, timeoutMs?: number): Promise<RedisServer>
  stop(): Promise<void>
}

export interface StartSentinelOptions {
  masterName?: string
  /** Sentinel `down-after-milliseconds`; default 1000. */
  downAfterMs?: number
}

/**
 * Starts 1 master, 1 replica and 3 sentinels (quorum 2) on free loopback ports.
 *
 * @example
 * ```ts
 * const topo = await startSentinel()
 * const client = new Redis({ sentinels: topo.sentinels, name: topo.masterName })
 * ```
 */
export async function startSentinel(options: StartSentinelOptions = {}): Promise<SentinelTopology> {
  const masterName = options.masterName ?? 'sessionkit'
  const downAfter = options.downAfterMs ?? 1000
  const started: RedisServer[] = []
  try {
    const master = await spawnServer({
      label: 'sentinel-master',
      args: () => ['--repl-diskless-sync-delay', '0'],
    })
    started.push(master)
    const replica = await spawnServer({
      label: 'sentinel-replica',
      args: () => ['--replicaof', '127.0.0.1', String(master.port), '--repl-diskless-sync-delay', '0'],
    })
    started.push(replica)
    // Sentinels list replicas from the master's INFO; start them once the link is up.
    await waitFor('replica link up', async () => {
      const info = infoFields(await call(replica.port, ['INFO', 'replication']))
      return info.master_link_status === 'up'
    })
    const sentinelServers = await Promise.all(
      [0, 1, 2].map(() =>
        spawnServer({
          label: 'sentinel',
          sentinelConfig: (port, dir) => {
            const file = join(dir, 'sentinel.conf')
            writeFileSync(
              file,
              [
                `port ${port}`,
                'bind 127.0.0.1',
                `dir ${dir}`,
                'logfile ""',
                `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 2`,
                `sentinel down-after-milliseconds ${masterName} ${downAfter}`,
                `sentinel failover-timeout ${masterName} 5000`,
                `sentinel parallel-syncs ${masterName} 1`,
                '',
              ].join('\n'),
            )
            return file
          },
        }),
      ),
    )
    started.push(...sentinelServers)
    // Failover needs a majority of sentinels that know each other and the replica.
    await waitFor('sentinels to discover each other and the replica', async () => {
      for (const s of sentinelServers) {
        const fields = pairs(await call(s.port, ['SENTINEL', 'MASTER', masterName]))
        if (Number(fields['num-other-sentinels']) < 2 || Number(fields['num-slaves']) < 1) return false
      }
      return true
    })
    return topology(masterName, [master, replica], sentinelServers)
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()))
    throw err
  }
}

function topology(
  masterName: string,
  nodes: RedisServer[],
  sentinelServers: RedisServer[],
): SentinelTopology {
  const masterPort = async (): Promise<number> => {
    let lastError: unknown
    for (const s of sentinelServers.filter((x) => x.running)) {
      try {
        const addr = await call(s.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName])
        if (Array.isArray(addr)) return Number(addr[1])
      } catch (err) {
        lastError = err
      }
    }
    throw lastError ?? new Error('no sentinel answered')
  }
  const byPort = (port: number) => {
    const node = nodes.find((n) => n.port === port)
    if (!node) throw new Error(`sentinels name unknown master port ${port}`)
    return node
  }
  const master = async () => byPort(await masterPort())
  return {
    masterName,
    sentinels: sentinelServers.map((s) => ({ host: s.host, port: s.port })),
    nodes,
    sentinelServers,
    master,
    replica: async () => {
      const m = await master()
      return nodes.find((n) => n !== m)!
    },
    killMaster: async () => {
      const m = await master()
      await m.kill('SIGKILL')
      return m
    },
    waitForFailover: (old, timeoutMs = 15_000) =>
      waitFor(
        'sentinel failover',
        async () => {
          const port = await masterPort()
          if (port === old.port) return undefined
          const info = infoFields(await call(port, ['INFO', 'replication']))
          return info.role === 'master' ? byPort(port) : undefined
        },
        timeoutMs,
      ),
    stop: async () => {
      await Promise.all([...sentinelServers, ...nodes].map((s) => s.stop()))
    },
  }
}

/** `[k1, v1, k2, v2]` to an object. */
function pairs(reply: Reply): Record<string, string> {
  const out: Record<string, string> = {}
  if (!Array.isArray(reply)) return out
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1])
  return out
}
