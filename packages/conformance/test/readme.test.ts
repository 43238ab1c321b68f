import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { README, withCaseList } from '../scripts/case-list'

it('the README lists every case, one line each, as scripts/case-list.ts generates it', () => {
  const readme = readFileSync(README, 'utf8')
  // Stale: run `pnpm --filter @sessionkit/conformance cases:readme` and commit the README.
  expect(readme).toBe(withCaseList(readme))
})
