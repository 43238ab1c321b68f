/**
 * One app instance as its own process: `fork()`ed by ./fleet.ts with the instance as JSON in
 * argv[2]. Reports `{ ready, url }` over IPC, and exits when its parent goes away, so no
 * instance outlives a test run.
 */
import { FRAMEWORKS } from './apps/index'
import type { InstanceSpec } from './fleet'
import { openStore, type StoreSpec } from './stores'

const spec = JSON.parse(process.argv[2]!) as InstanceSpec & { port: number; store: StoreSpec }
const { store, close: closeStore } = await openStore(spec.store)
const app = await FRAMEWORKS[spec.framework].start({ name: spec.name, store, port: spec.port })
process.send?.({ ready: true, url: app.url, port: app.port })

const shutdown = async () => {
  await app.close()
  await closeStore()
  process.exit(0)
}
process.once('disconnect', () => process.exit(0))
process.once('SIGTERM', shutdown)
