/**
 * express-session reports deprecations through `depd`; we use Node's own channel with the
 * same messages, so `--no-deprecation` and `process.on('warning')` work as usual.
 */
export function deprecate(message: string): void {
  process.emitWarning(message, { type: 'DeprecationWarning', code: 'SESSIONKIT_EXPRESS' })
}

/** Printed when the in-process default store runs under NODE_ENV=production. */
export const MEMORY_STORE_WARNING =
  'Warning: @sessionkit/express MemoryStore is not\n' +
  'designed for a production environment, as it will not\n' +
  'scale past a single process: pass a shared store (e.g. @sessionkit/redis).'
