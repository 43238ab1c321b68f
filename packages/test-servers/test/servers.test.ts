import { afterAll, describe, expect, it } from 'vitest'
import { call, infoFields, startCluster, startRedis, startSentinel } from '../src/index'

describe('startRedis', () => {
  it('starts, pauses, kills and restarts on the same port', async () => {
    const server = await startRedis()
    try {
      expect(server.port).not.toBe(6379)
      expect(await call(server.port, ['SET', 'k', 'v'])).toBe('OK')
      await server.pause()
      await expect(call(server.port, ['PING'], 200)).rejects.toThrow(/did not answer/)
      server.resume()
      expect(await call(server.port, ['PING'])).toBe('PONG')
      await server.kill()
      expect(server.running).toBe(false)
      await expect(call(server.port, ['PING'], 200)).rejects.toThrow()
      await server.restart()
      // persistence is off: a restart is an empty server
      expect(await call(server.port, ['GET', 'k'])).toBe(null)
    } finally {
      await server.stop()
    }
  })
})

describe('startSentinel', () => {
  const topo = startSentinel()
  afterAll(async () => (await topo).stop())

  it('replicates, and fails over when the master is killed', async () => {
    const t = await topo
    const master = await t.master()
    expect(await call(master.port, ['SET', 'k', 'v'])).toBe('OK')
    expect(await call(master.port, ['WAIT', 1, 1000])).toBe(1)
    const killed = await t.killMaster()
    const started = Date.now()
    const promoted = await t.waitForFailover(killed)
    console.info(`sentinel failover took ${Date.now() - started} ms`)
    expect(promoted.port).not.toBe(killed.port)
    expect(await call(promoted.port, ['GET', 'k'])).toBe('v')
  })
})

describe('startCluster', () => {
  const cluster = startCluster()
  afterAll(async () => (await cluster).stop())

  it('covers all slots and fails over a killed master', async () => {
    const c = await cluster
    expect((await c.masters()).length).toBe(3)
    expect((await c.replicas()).length).toBe(3)
    const victim = (await c.masters())[0]!
    await c.kill(victim)
    const started = Date.now()
    const heir = await c.waitForFailover(victim)
    console.info(`cluster failover took ${Date.now() - started} ms`)
    const info = infoFields(await call(heir.port, ['CLUSTER', 'INFO']))
    expect(info.cluster_state).toBe('ok')
  })
})
