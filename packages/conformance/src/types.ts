import type { SessionStore, StoreCapabilities } from '@sessionkit/core'

/**
 * What a case needs beyond the mandatory contract: a capability the store declares `true`, or a
 * hook the store author passed in the options.
 *
 * @example
 * ```ts
 * const needs: Requirement[] = ['principalIndex', 'readRaw']
 * ```
 */
export type Requirement = keyof StoreCapabilities | 'makeUnavailable' | 'readRaw' | 'corrupt'

/**
 * What a case receives: a fresh store on a fresh namespace, plus the optional hooks bound to it.
 *
 * @example
 * ```ts
 * async run({ store, readRaw }) {
 *   assert.equal(await store.load('nope'), undefined)
 *   if (readRaw) assert.equal(await readRaw('nope'), undefined)
 * }
 * ```
 */
export interface CaseContext {
  readonly store: SessionStore
  /** Unique to this case run; the store keeps its records apart under it. */
  readonly namespace: string
  /** The manifest the plan was made from (read from the first store created). */
  readonly capabilities: StoreCapabilities
  /**
   * Another store on the same namespace, disposed with the case (for `shared` stores): the
   * options' `createPeer` (own connection, own thread or process) or else `createStore` again.
   */
  openPeer(): Promise<SessionStore>
  /** Resolves once `store`'s backend is unreachable. */
  readonly makeUnavailable?: () => Promise<void>
  /** What the backend holds for `id`; `undefined` or `null` when it holds nothing. */
  readonly readRaw?: (id: string) => Promise<unknown>
  /** Plants bytes under `id` that are no valid record of this store. */
  readonly corrupt?: (id: string) => Promise<void>
  /** How long an unreachable store may take to reject an operation. */
  readonly unavailableWithinMs: number
}

/**
 * One runner-agnostic conformance case; assertions use `node:assert/strict`.
 *
 * @example
 * ```ts
 * const mine: ConformanceCase = {
 *   id: 'load/missing',
 *   title: 'load of an unknown id answers undefined',
 *   async run({ store }) { assert.equal(await store.load(newId()), undefined) },
 * }
 * ```
 */
export interface ConformanceCase {
  /** Stable: a test name, a `skip` key and a docs anchor. Never renamed within a major. */
  readonly id: string
  readonly title: string
  readonly requires?: readonly Requirement[]
  /** Waits for the clock to pass an expiry instant; runners keep these away from heavy cases. */
  readonly timing?: boolean
  run(ctx: CaseContext): Promise<void>
}

/**
 * How a store author runs the suite.
 *
 * @example
 * ```ts
 * const options: ConformanceOptions<RedisStore> = {
 *   name: 'RedisStore',
 *   createStore: ({ namespace }) => new RedisStore({ client, prefix: `${namespace}:` }),
 *   makeUnavailable: async () => { await server.stop() },
 *   readRaw: (store, id) => client.hgetall(store.keyFor(id)).then((h) => (Object.keys(h).length ? h : undefined)),
 * }
 * ```
 */
export interface ConformanceOptions<S extends SessionStore = SessionStore> {
  /** Shown in the suite title. */
  name: string
  /** Called once per case (and once more to read the capabilities manifest). */
  createStore(ctx: { namespace: string }): S | Promise<S>
  /** Defaults to `store.close?.()`. */
  disposeStore?(store: S): void | Promise<void>
  /** Case id to the reason it does not apply to this store; unknown ids are an error. */
  skip?: Readonly<Record<string, string>>
  /** Once it returns (or its promise resolves), `store`'s backend must be unreachable. Enables `unavailable/*`. */
  makeUnavailable?(store: S): void | Promise<void>
  /** The backend's raw value for `id`, or `undefined`/`null` when it holds nothing. Enables `raw/*`. */
  readRaw?(store: S, id: string): unknown | Promise<unknown>
  /**
   * Plants, under `id`, bytes that are no valid record of this store: what a failed deploy, a
   * foreign writer or an attacker with backend access leaves behind (a truncated value, a
   * record without its metadata, a value of another type). Enables `corrupt/backend`.
   */
  corrupt?(store: S, id: string): void | Promise<void>
  /** Bound for an unreachable store to reject an operation. Default 5000. */
  unavailableWithinMs?: number
  /**
   * The second, independent instance the concurrency cases race the store against, on the same
   * backend and namespace: its own connection, and its own thread or process where the driver
   * is synchronous (`storeInWorker`), so that operations really interleave at the backend.
   * Default: `createStore` again. Used only for stores whose manifest says `shared`; disposed
   * with `close()`.
   */
  createPeer?(ctx: { namespace: string }): SessionStore | Promise<SessionStore>
  /**
   * Bound for any single store operation in any case: past it the case fails naming the
   * operation ("save(update abc…) did not settle"), long before the runner's timeout. Default 10000.
   */
  operationTimeoutMs?: number
  /** The runner's timeout for one case (the vitest adapter sets it explicitly). Default 120000. */
  caseTimeoutMs?: number
}

/**
 * Whether one case runs against a store, and if not, why.
 *
 * @example
 * ```ts
 * for (const { case: c, skipReason } of planCases(options, store.capabilities)) {
 *   console.log(c.id, skipReason ?? 'runs')
 * }
 * ```
 */
export interface CasePlan {
  readonly case: ConformanceCase
  /** The reason the case is skipped; `undefined` when it runs. */
  readonly skipReason: string | undefined
}
