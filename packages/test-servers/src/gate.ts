/**
 * Holds the next call of one async method after it has done its work, until the test releases
 * it: forces an interleaving ("the lookup ran, now let the other request commit, then go on")
 * instead of hoping a sleep lands in the window.
 *
 * @example
 * ```ts
 * const held = holdNextCall(store, 'findByPrincipal')
 * const revoking = agent.post('/revoke')
 * await held.reached        // the lookup answered; its caller has not seen it yet
 * await agent2.post('/login') // a rotation commits in the gap
 * held.release()
 * ```
 */
export function holdNextCall<T extends object, K extends keyof T & string>(
  target: T,
  method: K,
): { reached: Promise<void>; release(): void } {
  const original = target[method] as unknown as (...args: unknown[]) => Promise<unknown>
  let reach!: () => void
  let release!: () => void
  const reached = new Promise<void>((resolve) => {
    reach = resolve
  })
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  Object.defineProperty(target, method, {
    configurable: true,
    writable: true,
    value: async function held(this: unknown, ...args: unknown[]) {
      // Later calls (and this one's callers) see the original again.
      delete (target as Record<string, unknown>)[method]
      if (target[method] !== original) (target as Record<string, unknown>)[method] = original
      const result = await original.apply(this, args)
      reach()
      await released
      return result
    },
  })
  return { reached, release }
}
