import { call, infoFields, waitFor } from './resp'
import { type RedisServer, spawnServer } from './server'

interface NodeLine {
  id: string
  port: number
  flags: string[]
  masterId: string
  slots: string[]
}

export interface ClusterTopology {
  /** Seed nodes for `new Cluster(nodes)`. */
  readonly nodes: { host: string; port: number }[]
  readonly servers: RedisServer[]
  /** Live masters as the cluster sees them now. */
  masters(): Promise<RedisServer[]>
  /** Live replicas as the cluster sees them now. */
  replicas(): Promise<RedisServer[]>
  /** Kills one node (default SIGKILL), remembering the slots it served for `waitForFailover`. */
  kill(node: RedisServer, signal?: NodeJS.Signals): Promise<void>
  /** Resolves once a replica of `killed` was promoted and every live node reports cluster_state:ok. */
  waitForFailover(killed: RedisServer, timeoutMs?: number): Promise<RedisServer>
  stop(): Promise<void>
}

export interface StartClusterOptions {
  masters?: number
  replicasPerMaster?: number
  /** `cluster-node-timeout`; default 1000. */
  nodeTimeoutMs?: number
}

const SLOTS = 16384

/**
 * Starts a Redis Cluster (default 3 masters, 1 replica each) on free loopback ports, with
 * explicit bus ports, and resolves when every node reports cluster_state:ok.
 *
 * @example
 * ```ts
 * const cluster = await startCluster()
 * const client = new Cluster(cluster.nodes)
 * ```
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<ClusterTopology> {
  const masterCount = options.masters ?? 3
  const perMaster = options.replicasPerMaster ?? 1
  const timeout = options.nodeTimeoutMs ?? 1000
  const total = masterCount * (1 + perMaster)
  const servers: RedisServer[] = []
  try {
    const results = await Promise.allSettled(
      Array.from({ length: total }, () =>
        spawnServer({
          label: 'cluster',
          busPort: true,
          args: (_port, busPort) => [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(timeout),
            '--cluster-port',
            String(busPort),
            '--repl-diskless-sync-delay',
            '0',
          ],
        }),
      ),
    )
    for (const r of results) if (r.status === 'fulfilled') servers.push(r.value)
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason

    const ids = await Promise.all(servers.map(async (s) => String(await call(s.port, ['CLUSTER', 'MYID']))))
    const masters = servers.slice(0, masterCount)
    // Distinct epochs up front, as redis-cli does, so no epoch-collision round is needed.
    await Promise.all(servers.map((s, i) => call(s.port, ['CLUSTER', 'SET-CONFIG-EPOCH', i + 1])))
    await Promise.all(
      masters.map((m, i) => {
        const from = Math.floor((i * SLOTS) / masterCount)
        const to = Math.floor(((i + 1) * SLOTS) / masterCount) - 1
        return call(m.port, ['CLUSTER', 'ADDSLOTSRANGE', from, to])
      }),
    )
    const first = servers[0]!
    await Promise.all(
      servers.slice(1).map((s) => call(first.port, ['CLUSTER', 'MEET', s.host, s.port, s.busPort])),
    )
    await waitFor('every node to know every other node', async () => {
      for (const s of servers) {
        const lines = await clusterNodes(s.port)
        if (lines.length < total || lines.some((l) => l.flags.includes('handshake'))) return false
      }
      return true
    })
    await Promise.all(
      servers.slice(masterCount).map((s, i) => call(s.port, ['CLUSTER', 'REPLICATE', ids[i % masterCount]!])),
    )
    await waitFor('cluster_state:ok with replicas in sync', async () => {
      for (const s of servers) {
        const info = infoFields(await call(s.port, ['CLUSTER', 'INFO']))
        if (info.cluster_state !== 'ok') return false
      }
      for (const s of servers.slice(masterCount)) {
        const info = infoFields(await call(s.port, ['INFO', 'replication']))
        if (info.master_link_status !== 'up') return false
      }
      // Each replica must be known as such by every node, or a failover would not find it.
      for (const s of servers) {
        const lines = await clusterNodes(s.port)
        if (lines.filter((l) => l.flags.includes('slave')).length < total - masterCount) return false
      }
      return true
    })
    return topology(servers)
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()))
    throw err
  }
}

async function clusterNodes(port: number): Promise<NodeLine[]> {
  const text = String(await call(port, ['CLUSTER', 'NODES']))
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, addr, flags, masterId, , , , , ...slots] = line.split(' ')
      return {
        id: id!,
        port: Number(addr!.split('@')[0]!.split(':')[1]),
        flags: flags!.split(','),
        masterId: masterId!,
        slots,
      }
    })
}

function topology(servers: RedisServer[]): ClusterTopology {
  const slotsOf = new Map<RedisServer, string[]>()
  const view = async () => {
    for (const s of servers.filter((x) => x.running)) {
      try {
        return await clusterNodes(s.port)
      } catch {
        // a paused or dying node: ask the next one
      }
    }
    throw new Error('no cluster node answered CLUSTER NODES')
  }
  const select = async (role: 'master' | 'slave') => {
    const lines = await view()
    return servers.filter((s) => {
      const line = lines.find((l) => l.port === s.port)
      return s.running && line?.flags.includes(role) && !line.flags.some((f) => f.startsWith('fail'))
    })
  }
  return {
    nodes: servers.map((s) => ({ host: s.host, port: s.port })),
    servers,
    masters: () => select('master'),
    replicas: () => select('slave'),
    kill: async (node, signal) => {
      const line = (await view()).find((l) => l.port === node.port)
      if (line?.slots.length) slotsOf.set(node, line.slots)
      await node.kill(signal)
    },
    waitForFailover: (killed, timeoutMs = 15_000) => {
      const slots = slotsOf.get(killed)
      if (!slots) return Promise.reject(new Error(`port ${killed.port} was not a master killed via kill()`))
      return waitFor(
        `a replica of port ${killed.port} to take over its slots`,
        async () => {
          const lines = await view()
          const heir = lines.find(
            (l) =>
              l.port !== killed.port &&
              l.flags.includes('master') &&
              !l.flags.some((f) => f.startsWith('fail')) &&
              slots.every((range) => l.slots.includes(range)),
          )
          if (!heir) return undefined
          for (const s of servers.filter((x) => x.running)) {
            const info = infoFields(await call(s.port, ['CLUSTER', 'INFO']))
            if (info.cluster_state !== 'ok') return undefined
          }
          return servers.find((s) => s.port === heir.port)
        },
        timeoutMs,
      )
    },
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()))
    },
  }
}
