import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { availableFrameworks } from '../src/apps/index'
import { type Balancer, startBalancer } from '../src/balancer'
import { type Fleet, startProcessFleet } from '../src/fleet'
import { availableBackends, type BackendServer } from './support/backends'
import { Client, startBarrier } from './support/client'

// Every framework behind one round-robin balancer, each instance its own process, all on
// the shared configuration (src/config.ts), once per shared store.
const frameworks = await availableFrameworks()
const specs = frameworks.map((framework) => ({ name: framework, framework }))
const backends = await availableBackends()
let n = 0
const unique = (what: string) => `${what}${++n}${Date.now().toString(36)}`

describe.each(backends)('$name: one session across every framework', (row) => {
  let server: BackendServer
  let fleet: Fleet
  let lb: Balancer
  beforeAll(async () => {
    server = await row.start()
    fleet = await startProcessFleet(specs, server.spec)
    lb = await startBalancer({ backends: fleet.backends() })
  }, 90_000)
  afterAll(async () => {
    await lb?.close()
    await fleet?.stop()
    await server?.stop()
  })

  /** The same request straight to every instance. */
  const everywhere = (client: Client, path: string) =>
    Promise.all(fleet.instances.map((i) => client.get(path, i.url)))

  it('login on one instance, read on the next, write on the third, read back on every one', async () => {
    const user = unique('ann')
    const client = new Client(lb.url)
    const login = await client.post(`/api/login?user=${user}&marker=m-${user}`)
    expect(login.status).toBe(200)
    const served = [login.instance]
    const read = await client.get('/api/me')
    expect(read.body).toMatchObject({ user, marker: `m-${user}` })
    served.push(read.instance)
    const write = await client.post('/api/set?name=theme&value=dark')
    expect(write.status).toBe(200)
    served.push(write.instance)
    // Round-robin: three requests, three different frameworks.
    expect(new Set(served).size).toBe(Math.min(3, frameworks.length))
    for (const reply of await everywhere(client, '/api/me')) {
      expect(reply.status).toBe(200)
      expect(reply.body).toMatchObject({ user, marker: `m-${user}`, attrs: { theme: 'dark' } })
    }
  })

  it('a logout on one instance is a logout on every instance', async () => {
    const user = unique('bob')
    const client = new Client(lb.url)
    await client.post(`/api/login?user=${user}`)
    const stale = client.clone()
    const logout = await client.post('/api/logout')
    expect(logout.status).toBe(200)
    // Even a client that kept the old cookie finds no session anywhere.
    for (const reply of await everywhere(stale, '/api/me')) {
      expect(reply.status).toBe(200)
      expect(reply.body).toMatchObject({ user: null, attrs: {} })
    }
  })

  it('changeId at login: the pre-login id is dead on every instance, its data moved to the new id', async () => {
    const user = unique('cy')
    const client = new Client(lb.url)
    expect((await client.post('/api/set?name=cart&value=apple')).status).toBe(200)
    const anonymous = client.clone()
    const login = await client.post(`/api/login?user=${user}`)
    expect(login.body.sid).not.toBe((await anonymous.get('/api/me', fleet.instances[0]!.url)).body.sid)
    for (const reply of await everywhere(anonymous, '/api/me')) {
      expect(reply.body).toMatchObject({ user: null, attrs: {} })
    }
    for (const reply of await everywhere(client, '/api/me')) {
      expect(reply.body).toMatchObject({ user, attrs: { cart: 'apple' } })
    }
  })

  it('revoke-all on one device logs out every device of that user, and nobody else', async () => {
    const user = unique('dee')
    const devices = [new Client(lb.url), new Client(lb.url), new Client(lb.url)]
    for (const device of devices) expect((await device.post(`/api/login?user=${user}`)).status).toBe(200)
    const other = new Client(lb.url)
    await other.post(`/api/login?user=${unique('eve')}`)

    const revoke = await devices[1]!.post('/api/revoke-all')
    expect(revoke.status).toBe(200)
    expect(revoke.body.ended).toBe(3)
    for (const device of devices) {
      for (const reply of await everywhere(device, '/api/me')) expect(reply.body.user).toBeNull()
    }
    for (const reply of await everywhere(other, '/api/me')) expect(reply.body.user).toMatch(/^eve/)
  })

  it('concurrent writes of different attributes through different instances all persist', async () => {
    const client = new Client(lb.url)
    await client.post(`/api/login?user=${unique('fay')}`)
    // Each instance loads the session, then all wait at the barrier and save together.
    const barrier = await startBarrier(fleet.instances.length)
    const names = fleet.instances.map((i) => `by${i.framework}`)
    const writes = fleet.instances.map((instance, i) =>
      client.post(
        `/api/set?name=${names[i]}&value=${i}&barrier=${encodeURIComponent(barrier.url)}`,
        instance.url,
      ),
    )
    await barrier.arrived
    for (const reply of await Promise.all(writes)) expect(reply.status).toBe(200)
    await barrier.close()
    const expected = Object.fromEntries(names.map((name, i) => [name, String(i)]))
    for (const reply of await everywhere(client, '/api/me')) expect(reply.body.attrs).toEqual(expected)
  })
})
