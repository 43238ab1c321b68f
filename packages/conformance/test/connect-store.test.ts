import { afterAll } from 'vitest'
import { describeStoreConformance } from '../src/vitest'
import { connectStoreRuns } from './fixtures/real-connect-stores'

// The adapter's documented default on each real npm connect store: every case it does not
// skip must pass, and every skip names what the connect store cannot do.
for (const run of connectStoreRuns) {
  const started = await run.start()
  afterAll(() => started.stop())
  describeStoreConformance(started.options)
}
