import { defineConfig } from 'tsup'

/**
 * For bindings whose peer is CommonJS: `require('@sessionkit/express')` returns the default
 * export itself, as `require('express-session')` does, with the named exports on it. Their
 * build script then runs scripts/cjs-types.ts, which makes dist/index.d.cts say so
 * (`export =`): tsup's declarations would type `require()` as a non-callable object.
 */
export const requireReturnsDefault = 'module.exports = Object.assign(module.exports.default, module.exports)'

/** The one build every public package uses: ESM + CJS with types for both. */
export function packageBuild(options: { entry?: string[]; requireReturnsDefault?: boolean } = {}) {
  return defineConfig({
    entry: options.entry ?? ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    footer: ({ format }) =>
      format === 'cjs' && options.requireReturnsDefault ? { js: requireReturnsDefault } : {},
  })
}
