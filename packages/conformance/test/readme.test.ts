import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { README, withCaseList } from '../scripts/case-list'

it('the README lists every case, one line each, as scripts/case-list.ts generates it', () => {
  const readme = readFileSync(README, 'utf8')
  // Stale: run `pnpm --filter @sessionkit/conformance cases:readme` and commit the README.
  expect(readme).toBe(withCaseList(readme))
})

it('the README walkthrough shows the files CI runs from the packed packages, verbatim', () => {
  const readme = readFileSync(README, 'utf8')
  for (const file of ['map-store.ts', 'map-store.test.ts']) {
    const path = new URL(`../../../scripts/consumers/store-walkthrough/${file}`, import.meta.url)
    const indented = readFileSync(path, 'utf8')
      .split('\n')
      .map((line) => (line.trim() ? `   ${line}` : line))
      .join('\n')
    expect(readme).toContain(`   // ${file}\n${indented}`)
  }
})
