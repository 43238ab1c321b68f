import assert from '../assert'
import { assertAttributes, assertMeta, create, freshMeta, newId, newPrincipal } from '../helpers'
import type { ConformanceCase } from '../types'

/** Values a JSON, UTF-8 or expression layer tends to mangle; all well-formed UTF-16 (no lone surrogates). */
const oddValues: Record<string, string> = {
  empty: '',
  json: '{"a":[1,2,{"b":null}],"c":"\\u0000"}',
  quotes: `'"\`\\ \\\\ \\n`,
  whitespace: ' \t\r\n\u00a0\u2028\u2029 ',
  control: '\u0000\u0001\u001f\u007f',
  latin: 'café naïve ß',
  cjk: '会话 セッション 세션',
  rtl: 'שלום مرحبا \u202e',
  emoji: '😀👩‍👩‍👧‍👦🏳️‍🌈',
  astral: '𝕊𝕖𝕤𝕤𝕚𝕠𝕟 𐍈 🀄',
  combining: 'e\u0301 a\u030a',
  bom: '\ufeffbom',
  noncharacters: '\uffff\ufffe',
  numberish: '0012',
  literal: 'null',
}

/** Names that collide with JS prototypes, metadata fields, key syntax or expression placeholders. */
const oddNames = [
  'a.b',
  'a:b',
  '$',
  '$where',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'id',
  'createdAt',
  'expiresAt',
  'principal',
  'attributes',
  'sess:{x}',
  '#n',
  ':v',
  '[0]',
  '0',
  'with space',
  'ünï',
  '😀',
]

export const roundtripCases: readonly ConformanceCase[] = [
  {
    id: 'roundtrip/record',
    title: 'metadata and attributes load back exactly as saved',
    async run({ store }) {
      const plain = freshMeta()
      const a = await create(store, { n: '1' }, plain)
      const loaded = await store.load(a.id)
      assertMeta(loaded, plain, 'metadata of a session without a principal')
      assert.equal(loaded?.id, a.id)
      assert.equal(loaded?.principal, undefined, 'no principal is undefined, never null or ""')

      const owned = freshMeta({ principal: newPrincipal(), createdAt: 1_000, maxInactiveMs: 123_457 })
      const b = await create(store, { n: '2' }, owned)
      assertMeta(await store.load(b.id), owned, 'metadata of a session with a principal')
    },
  },
  {
    id: 'roundtrip/strings',
    title: 'odd attribute values and names round-trip byte-exact',
    async run({ store }) {
      const attributes = Object.fromEntries([
        ...Object.entries(oddValues),
        ...oddNames.map((name, i) => [name, `value of ${name} #${i}`]),
      ])
      assert.ok(Object.hasOwn(attributes, '__proto__'))
      const { id } = await create(store, attributes)
      const loaded = await store.load(id)
      assertAttributes(loaded, attributes, 'every value and name comes back unchanged')
      assert.ok(
        Object.hasOwn(loaded.attributes, '__proto__'),
        '__proto__ is an own attribute, not a prototype',
      )

      // Updates address names the same way creation did.
      const changed = Object.fromEntries(oddNames.map((name) => [name, `changed ${name} 😀`]))
      assert.equal(
        await store.save({ id, isNew: false, meta: freshMeta(), set: changed, removed: ['empty'] }),
        'saved',
      )
      const { empty: _, ...rest } = attributes
      assertAttributes(await store.load(id), { ...rest, ...changed }, 'updates of odd names')
    },
  },
  {
    id: 'roundtrip/large-value',
    title: 'a 1 MB attribute value round-trips and survives later merges',
    async run({ store }) {
      const big = `${'abcdefghij😀'.repeat(87_382)}end`
      assert.ok(big.length > 1_000_000)
      const { id } = await create(store, { big })
      const first = await store.load(id)
      assert.ok(first, 'the record is missing')
      assert.ok(first.attributes.big === big, `1 MB value changed (length ${first.attributes.big?.length})`)
      assert.equal(
        await store.save({ id, isNew: false, meta: freshMeta(), set: { small: 's' }, removed: [] }),
        'saved',
      )
      const second = await store.load(id)
      assert.ok(second?.attributes.big === big, 'the 1 MB value changed after saving another attribute')
      assert.equal(second.attributes.small, 's')
    },
  },
  {
    id: 'roundtrip/many-attributes',
    title: 'a session with 20 000 attributes saves, updates, rotates and loads back',
    async run({ store }) {
      const count = 20_000
      const attributes = Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, String(i)]))
      const { id } = await create(store, attributes)
      const loaded = await store.load(id)
      assert.equal(
        Object.keys(loaded?.attributes ?? {}).length,
        count,
        'not every attribute of a large session came back',
      )
      assertAttributes(loaded, attributes, 'attributes of a session with 20 000 of them')

      const set = Object.fromEntries(Array.from({ length: count / 2 }, (_, i) => [`k${i}`, `changed ${i}`]))
      const removed = Array.from({ length: count / 2 }, (_, i) => `k${i + count / 2}`)
      assert.equal(
        await store.save({ id, isNew: false, meta: freshMeta(), set, removed }),
        'saved',
        'an update of 10 000 attributes and removal of 10 000 more',
      )
      assertAttributes(await store.load(id), set, 'after changing half and removing half')

      const next = newId()
      assert.equal(
        await store.save({
          id: next,
          previousId: id,
          isNew: false,
          meta: { ...freshMeta(), principal: null },
          set,
          removed: [],
        }),
        'saved',
        'a rotation carrying 10 000 attributes',
      )
      assertAttributes(await store.load(next), set, 'after rotating a large session')
    },
  },
]
