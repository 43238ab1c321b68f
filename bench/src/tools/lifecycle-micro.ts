/**
 * `node --conditions=@sessionkit/source --import tsx src/tools/lifecycle-micro.ts [small|big|wide]`:
 * core's request lifecycle alone (begin, read one attribute, commit) on the memory store, in
 * one process, no HTTP: µs per request for a read-only and a one-change request. A quick,
 * less noisy check of a hot-path change before the full HTTP matrix.
 */
import { SessionManager } from '@sessionkit/core'
import { MemoryStore } from '@sessionkit/memory'
import { sessionData } from '../fixtures'

const kind = process.argv[2] === 'wide' ? 'wide' : process.argv[2] === 'small' ? 'small' : 'big'
const wide = kind === 'wide'
const manager = new SessionManager({ store: new MemoryStore(), rules: { rolling: true } })
const cookie = { originalMaxAge: 86_400_000, path: '/', httpOnly: true }
const first = await manager.begin({ id: undefined, cookie, secure: false })
Object.assign(first.data, sessionData(kind))
await first.commit()
const id = first.id

async function request(change: boolean): Promise<void> {
  const lifecycle = await manager.begin({ id, cookie, secure: false })
  const user = lifecycle.data.user as { name: string }
  if (user.name !== 'ada') throw new Error('session not loaded')
  if (change) lifecycle.data.count = ((lifecycle.data.count as number) ?? 0) + 1
  const { cookie: instruction } = await lifecycle.commit()
  if (!instruction) throw new Error('a rolling session sends its cookie')
}

for (const change of [false, true]) {
  const n = wide ? 5 : 20_000
  for (let i = 0; i < n / 5; i++) await request(change)
  const started = performance.now()
  for (let i = 0; i < n; i++) await request(change)
  const micros = ((performance.now() - started) * 1000) / n
  console.log(`${change ? 'one change' : 'read-only '}: ${micros.toFixed(1)} µs/request`)
}
