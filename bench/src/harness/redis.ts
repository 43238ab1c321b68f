import { call, infoFields } from '@sessionkit/test-servers'

/** The Redis server's own counters, read before and after a measurement. */
export interface RedisSample {
  /** Commands executed, INFO itself excluded. */
  commands: number
  /** used_cpu_user + used_cpu_sys, in µs. */
  cpuMicros: number
  /** Bytes Redis received (what clients wrote to it) and sent. */
  netIn: number
  netOut: number
  /** Per-command call counts, INFO excluded. */
  perCommand: Record<string, number>
}

export async function sampleRedis(port: number): Promise<RedisSample> {
  const stats = infoFields(await call(port, ['INFO', 'commandstats']))
  const cpu = infoFields(await call(port, ['INFO', 'cpu']))
  const net = infoFields(await call(port, ['INFO', 'stats']))
  const perCommand: Record<string, number> = {}
  let commands = 0
  for (const [key, value] of Object.entries(stats)) {
    if (!key.startsWith('cmdstat_') || key === 'cmdstat_info') continue
    const calls = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0)
    perCommand[key.slice('cmdstat_'.length)] = calls
    commands += calls
  }
  return {
    commands,
    cpuMicros: (Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys)) * 1e6,
    // The INFO replies themselves are a few kB; over thousands of requests they vanish.
    netIn: Number(net.total_net_input_bytes),
    netOut: Number(net.total_net_output_bytes),
    perCommand,
  }
}

export function redisDelta(before: RedisSample, after: RedisSample): RedisSample {
  const perCommand: Record<string, number> = {}
  for (const [name, calls] of Object.entries(after.perCommand)) {
    const delta = calls - (before.perCommand[name] ?? 0)
    if (delta > 0) perCommand[name] = delta
  }
  return {
    commands: after.commands - before.commands,
    cpuMicros: after.cpuMicros - before.cpuMicros,
    netIn: after.netIn - before.netIn,
    netOut: after.netOut - before.netOut,
    perCommand,
  }
}
