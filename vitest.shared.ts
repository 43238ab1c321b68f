import { defineConfig } from 'vitest/config'

/**
 * Workspace tests import sibling packages through the `@sessionkit/source` export condition,
 * so they always run against sources, never a stale `dist`.
 */
export default defineConfig({
  resolve: { conditions: ['@sessionkit/source'] },
  ssr: { resolve: { conditions: ['@sessionkit/source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
})
