import { defineConfig } from 'tsup'

/**
 * `require('@sessionkit/express')` must return the middleware itself, as
 * `require('express-session')` does; `.default` and the named exports stay on it.
 */
export const cjsFooter = 'module.exports = Object.assign(module.exports.default, module.exports)'

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  footer: ({ format }) => (format === 'cjs' ? { js: cjsFooter } : {}),
})
