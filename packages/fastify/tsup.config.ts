import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // As @fastify/session: `require()` returns the plugin itself, which also carries the
  // named exports (`.default`, `.fastifySession`, `.MemoryStore`, ...).
  footer: ({ format }) =>
    format === 'cjs' ? { js: 'module.exports = Object.assign(module.exports.default, module.exports);' } : {},
})
