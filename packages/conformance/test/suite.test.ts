import { readFileSync } from 'node:fs'
import { isSessionError } from '@sessionkit/core'
import { describe, expect, it } from 'vitest'
import { type ConformanceOptions, cases, planCases, runConformanceCase } from '../src/index'
import { Backend, type Fault, plantCorrupt, ReferenceStore } from './fixtures/reference-store'

const full = { principalIndex: true, shared: true }

function optionsFor(fault?: Fault): ConformanceOptions<ReferenceStore> {
  const backend = new Backend()
  return {
    name: `faulty ${fault}`,
    createStore: () => new ReferenceStore(backend, fault),
    makeUnavailable: async () => {
      backend.down = true
    },
    readRaw: async (_store, id) => backend.records.get(id),
    corrupt: async (_store, id) => plantCorrupt(backend, id),
    unavailableWithinMs: 300,
  }
}

async function runCase(id: string, fault?: Fault): Promise<void> {
  const c = cases.find((x) => x.id === id)
  if (!c) throw new Error(`no case ${id}`)
  // The plan is made from the store's own manifest, lies included.
  const capabilities = fault === 'lying-manifest' ? { ...full, principalIndex: false } : full
  await runConformanceCase(c, optionsFor(fault), { namespace: `fault-${fault}`, capabilities })
}

describe('cases', () => {
  it('have unique, stable-looking ids and start with capabilities/truthful', () => {
    const ids = cases.map((c) => c.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const id of ids) expect(id).toMatch(/^[a-z]+\/[a-z-]+$/)
    expect(ids[0]).toBe('capabilities/truthful')
  })

  it('are all documented in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    for (const { id } of cases) expect(readme).toContain(`\`${id}\``)
  })
})

describe('planCases', () => {
  it('runs everything for a full-featured store with every hook', () => {
    expect(planCases(optionsFor(), full).filter((p) => p.skipReason !== undefined)).toEqual([])
  })

  it('skips with a reason for a missing capability, a missing hook, or the author’s skip', () => {
    const plan = planCases(
      {
        name: 'x',
        createStore: () => new ReferenceStore(new Backend()),
        skip: { 'roundtrip/large-value': 'too big' },
      },
      { principalIndex: false, shared: true },
    )
    const reason = (id: string) => plan.find((p) => p.case.id === id)?.skipReason
    expect(reason('principal/exact')).toBe('store capability principalIndex is false')
    expect(reason('unavailable/rejects')).toBe('no makeUnavailable hook given')
    expect(reason('raw/no-orphans')).toBe('no readRaw hook given')
    expect(reason('roundtrip/large-value')).toBe('too big')
    expect(reason('save/attribute-merge')).toBeUndefined()
    expect(plan).toHaveLength(cases.length)
  })

  it('rejects skip keys that name no case', () => {
    const options = { ...optionsFor(), skip: { 'save/atribute-merge': 'typo' } }
    expect(() => planCases(options, full)).toThrow(/save\/atribute-merge/)
    try {
      planCases(options, full)
    } catch (err) {
      expect(isSessionError(err, 'INVALID_OPTIONS')).toBe(true)
    }
  })
})

/**
 * The gallery of broken stores: each fault, the case that catches it, and the words its
 * failure message must contain so a store author learns which semantic the store broke.
 */
const gallery: [Fault, string, RegExp][] = [
  ['whole-write', 'save/attribute-merge', /a save touches only the attributes it names/],
  ['resurrect', 'save/no-resurrection', /a save after delete must answer gone/],
  ['overwrite-on-create', 'save/collision', /isNew on a taken id/],
  ['lazy-expiry', 'expiry/exact', /returned after expiresAt/],
  ['rotate-keeps-old', 'rotate/moves-everything', /the old id still loads/],
  ['touch-rewrites', 'touch/keeps-attributes', /attributes after touch/],
  ['stale-index', 'principal/delete', /a deleted session is still listed for its principal/],
  ['lying-manifest', 'capabilities/truthful', /principalIndex is false: findByPrincipal must be absent/],
  ['hang-when-down', 'unavailable/rejects', /did not settle within/],
  ['proto-unsafe', 'roundtrip/strings', /every value and name comes back unchanged/],
  ['shares-objects', 'load/returns-copy', /after mutating a loaded copy/],
  ['touch-read-modify-write', 'touch/race-delete', /a touch racing a delete brought the session back/],
  ['touch-read-modify-write', 'touch/race-save', /a touch racing a save lost the saved attribute/],
  ['ttl-not-extended', 'save/extends-expiry', /backend TTL not extended/],
  [
    'proto-removal-skipped',
    'save/remove-odd-names',
    /removal skipped attributes named like Object.prototype members/,
  ],
  ['rotate-overwrites-taken', 'rotate/onto-taken', /a rotation overwrote another session/],
  [
    'collision-indexes-intruder',
    'principal/collision',
    /indexed the victim’s session under the intruder’s principal/,
  ],
  ['expiry-inclusive', 'expiry/boundary', /expiry must be exclusive/],
  ['keeps-change-refs', 'save/copies-input', /store keeps references/],
  ['shares-found', 'principal/returns-copy', /findByPrincipal handed out stored objects/],
  ['stale-meta-overwrite', 'save/stale-writer', /a stale save overwrote principal, idle timeout or expiry/],
  ['stale-meta-overwrite', 'touch/keeps-attributes', /a touch wrote more than access time and expiry/],
  ['non-atomic-save', 'save/attribute-merge', /no concurrent save may lose another one/],
  ['resurrect-on-touch', 'touch/missing', /touch created a record/],
  ['attribute-limit', 'roundtrip/many-attributes', /Maximum call stack size exceeded/],
  [
    'rotate-drops-index',
    'principal/rotation',
    /rotation moves the principal index entry|Expected values to be strictly deep-equal/,
  ],
  [
    'never-shortens',
    'save/stale-writer',
    /a save that changed maxInactiveMs must write its \(shorter\) expiresAt/,
  ],
  ['create-merges-expired', 'expiry/id-reusable', /nothing of the expired record may leak into the new one/],
  // A store without transactions: each write is a read, a tick, then a write.
  ['non-atomic', 'save/attribute-merge', /no concurrent save may lose another one \(two instances/],
  ['non-atomic', 'save/race-delete', /a save racing a delete resurrected it/],
  ['non-atomic', 'save/concurrent-create', /concurrent creations of one id must have exactly one "saved"/],
  ['non-atomic', 'touch/race-delete', /a touch racing a delete brought the session back/],
  ['non-atomic', 'touch/race-save', /a touch racing a save lost the saved attribute/],
  ['non-atomic', 'rotate/concurrent', /two concurrent rotations of one id must have one winner/],
  // Boundaries a backend plausibly gets wrong.
  ['case-folding-ids', 'load/distinct-ids', /ids that differ only by case must be distinct sessions/],
  ['truncated-ids', 'load/distinct-ids', /ids that 128 characters .* must be distinct sessions/],
  ['normalizes-names', 'roundtrip/distinct-names', /must stay distinct \(the store folds names\)/],
  ['pad-space-names', 'roundtrip/distinct-names', /must stay distinct \(the store folds names\)/],
  ['case-folding-principals', 'principal/distinct', /must list exactly its own session/],
  ['pages-first-1000', 'principal/many', /must list all 1500 sessions of one principal: it listed 1000/],
  ['seconds-ttl', 'expiry/granularity', /a TTL rounded down to whole seconds/],
]

describe('the gallery of broken stores: each fails a case naming what it broke', () => {
  it.concurrent.each(gallery)('%s fails %s', async (fault, id, semantic) => {
    const error = await runCase(id, fault).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(error, `${fault} passed ${id}`).toBeInstanceOf(Error)
    expect((error as Error).message).toMatch(semantic)
  })

  it('covers every fault the reference store can simulate', () => {
    const source = readFileSync(new URL('./fixtures/reference-store.ts', import.meta.url), 'utf8')
    const declared = [...source.matchAll(/^ {2}\| '([a-z0-9-]+)'$/gm)].map((m) => m[1])
    expect(new Set(gallery.map(([fault]) => fault))).toEqual(new Set(declared))
  })

  it.concurrent.each([...new Set(gallery.map(([, id]) => id))])('the correct store passes %s', async (id) => {
    await runCase(id)
  })

  it('the reference store made non-atomic in every operation fails every race case of the suite', async () => {
    const failed = new Map<string, string>()
    for (const { case: c, skipReason } of planCases(optionsFor('non-atomic'), full)) {
      if (skipReason !== undefined) continue
      await runConformanceCase(c, optionsFor('non-atomic'), {
        namespace: `all-${c.id}`,
        capabilities: full,
      }).catch((error: Error) => failed.set(c.id, error.message))
    }
    const races = ['save/attribute-merge', 'save/race-delete', 'save/concurrent-create', 'touch/race-delete']
    for (const id of [...races, 'touch/race-save', 'rotate/concurrent']) {
      expect(failed.get(id), `${id} passed a store without atomic writes`).toMatch(
        /interleaving|must have exactly one/,
      )
    }
  }, 60_000)

  it('the README states how many known store bugs the suite catches', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const faults = new Set(gallery.map(([fault]) => fault)).size
    expect(readme).toContain(`catches all ${faults} deliberately broken stores`)
  })
})

describe('a hang is reported by the case, naming the operation, before the runner’s timeout', () => {
  it('an update that never settles fails its case after operationTimeoutMs', async () => {
    const options = optionsFor()
    const hanging: ConformanceOptions<ReferenceStore> = {
      ...options,
      operationTimeoutMs: 200,
      createStore: async (ctx) => {
        const store = await options.createStore(ctx)
        const save = store.save.bind(store)
        store.save = (change) => (change.isNew ? save(change) : new Promise(() => {}))
        return store
      },
    }
    const c = cases.find((x) => x.id === 'save/set-remove')!
    const started = Date.now()
    const error = await runConformanceCase(c, hanging, { namespace: 'hang', capabilities: full }).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect((error as Error).message).toMatch(
      /^\[save\/set-remove\] .*: store\.save\(update [^)]+\) did not settle within 200 ms/,
    )
    expect(Date.now() - started).toBeLessThan(2_000)
  })
})
