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

describe('the suite catches known store bugs', () => {
  const detections: [Fault, string][] = [
    ['whole-write', 'save/attribute-merge'],
    ['resurrect', 'save/no-resurrection'],
    ['resurrect', 'save/race-delete'],
    ['overwrite-on-create', 'save/collision'],
    ['overwrite-on-create', 'save/concurrent-create'],
    ['lazy-expiry', 'expiry/exact'],
    ['rotate-keeps-old', 'rotate/moves-everything'],
    ['rotate-keeps-old', 'rotate/concurrent'],
    ['touch-rewrites', 'touch/keeps-attributes'],
    ['stale-index', 'principal/delete'],
    ['lying-manifest', 'capabilities/truthful'],
    ['hang-when-down', 'unavailable/rejects'],
    ['proto-unsafe', 'roundtrip/strings'],
    ['shares-objects', 'load/returns-copy'],
  ]

  it.concurrent.each(detections)('%s fails %s', async (fault, id) => {
    await expect(runCase(id, fault)).rejects.toThrow()
  })

  it.concurrent.each([...new Set(detections.map(([, id]) => id))])(
    'the correct store passes %s',
    async (id) => {
      await runCase(id)
    },
  )
})
