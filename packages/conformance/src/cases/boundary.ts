import { isSessionError, SessionRepository, type SessionStore } from '@sessionkit/core'
import assert from '../assert'
import {
  assertAttributes,
  create,
  freshMeta,
  newId,
  newPrincipal,
  sortedIds,
  waitUntilPast,
} from '../helpers'
import type { ConformanceCase } from '../types'

/** More than a page of every paging scheme a store plausibly has (100, 1000, 1 MB of keys). */
export const MANY_SESSIONS = 1_500

/** Ids that differ only where a backend may fold, trim or truncate: each pair must be two sessions. */
function lookalikeIds(): [string, string, string][] {
  const base = newId().replace(/^[^A-Za-z]/, 'q')
  const flipped =
    (base[0] === base[0]!.toUpperCase() ? base[0]!.toLowerCase() : base[0]!.toUpperCase()) + base.slice(1)
  const long = `${newId()}${newId()}${newId()}${newId()}`.slice(0, 127)
  const short = newId().slice(0, 16)
  return [
    ['differ only by case', base, flipped],
    ['one is the other plus a trailing character', base, `${base}A`],
    ['one is the other plus a trailing "-"', `${base}x`, `${base}x-`],
    ['128 characters (the longest core accepts), differ in the last one', `${long}a`, `${long}b`],
    [
      '16 characters (the shortest core accepts), differ only by case',
      short.replace(/[A-Za-z]/, 'k'),
      short.replace(/[A-Za-z]/, 'K'),
    ],
  ]
}

/** Attribute names a backend may fold (collation, case-insensitive keys, Unicode normalisation, padding). */
const lookalikeNames: Record<string, string> = {
  cart: 'lower',
  Cart: 'capitalised',
  CART: 'upper',
  'caf\u00e9': 'NFC é',
  'cafe\u0301': 'NFD e + combining acute',
  x: 'plain',
  'x ': 'trailing space',
  'x\t': 'trailing tab',
  ß: 'sharp s',
  ss: 'double s',
  İ: 'dotted capital I',
  i: 'small i',
}

async function findIds(store: SessionStore, principal: string): Promise<string[]> {
  return sortedIds(await store.findByPrincipal!(principal))
}

export const boundaryCases: readonly ConformanceCase[] = [
  {
    id: 'load/distinct-ids',
    title:
      'ids that differ only by case, by a trailing character or in the last of 128 characters are distinct sessions',
    async run({ store }) {
      const meta = freshMeta()
      for (const [how, a, b] of lookalikeIds()) {
        for (const [id, who] of [
          [a, 'first'],
          [b, 'second'],
        ] as const) {
          const result = await store.save({
            id,
            isNew: true,
            meta: { ...meta, principal: null },
            set: { who },
            removed: [],
          })
          assert.equal(
            result,
            'saved',
            `ids that ${how} must be distinct sessions: creating the ${who} answered ${String(result)} (the store folds, trims or truncates ids)`,
          )
        }
        assertAttributes(
          await store.load(a),
          { who: 'first' },
          `ids that ${how}: the first loads its own record`,
        )
        assertAttributes(
          await store.load(b),
          { who: 'second' },
          `ids that ${how}: the second loads its own record`,
        )
        await store.delete(a)
        assertAttributes(
          await store.load(b),
          { who: 'second' },
          `ids that ${how}: deleting the first deleted the second (the store folds, trims or truncates ids)`,
        )
      }
    },
  },
  {
    id: 'roundtrip/distinct-names',
    title:
      'attribute names that differ only by case, Unicode normalisation (NFC/NFD) or trailing whitespace are distinct attributes',
    async run({ store }) {
      const { id } = await create(store, lookalikeNames)
      assertAttributes(
        await store.load(id),
        lookalikeNames,
        'attribute names that differ only by case, normalisation or trailing whitespace must stay distinct (the store folds names)',
      )
      const { 'x ': _padded, ...rest } = lookalikeNames
      assert.equal(
        await store.save({ id, isNew: false, meta: freshMeta(), set: { cart: 'changed' }, removed: ['x '] }),
        'saved',
        'an update of a live session must answer saved',
      )
      assertAttributes(
        await store.load(id),
        { ...rest, cart: 'changed' },
        'setting "cart" and removing "x " changed a lookalike name too (the store folds names)',
      )
    },
  },
  {
    id: 'principal/distinct',
    title: 'principals that differ only by case, normalisation or trailing space are indexed apart',
    requires: ['principalIndex'],
    async run({ store }) {
      const tag = newPrincipal('')
      const principals = [
        `Ana${tag}`,
        `ana${tag}`,
        `ANA${tag}`,
        `Ana${tag} `,
        `Jos\u00e9${tag}`,
        `Jose\u0301${tag}`,
      ]
      const ids = new Map<string, string>()
      for (const principal of principals) {
        ids.set(principal, (await create(store, { p: principal }, freshMeta({ principal }))).id)
      }
      for (const principal of principals) {
        assert.deepEqual(
          await findIds(store, principal),
          [ids.get(principal)],
          `findByPrincipal(${JSON.stringify(principal)}) must list exactly its own session, not those of principals that differ only by case, normalisation or trailing space`,
        )
      }
    },
  },
  {
    id: 'principal/many',
    title: `a principal with ${MANY_SESSIONS} sessions: findByPrincipal lists every one (results larger than any page)`,
    requires: ['principalIndex'],
    async run({ store }) {
      const principal = newPrincipal('many')
      const created: string[] = []
      const meta = freshMeta({ principal })
      for (let batch = 0; batch < MANY_SESSIONS; batch += 100) {
        const ids = await Promise.all(
          Array.from(
            { length: Math.min(100, MANY_SESSIONS - batch) },
            async () => (await create(store, {}, meta)).id,
          ),
        )
        created.push(...ids)
      }
      const found = await findIds(store, principal)
      const missing = created.length - new Set(found).size
      assert.equal(
        found.length,
        MANY_SESSIONS,
        `findByPrincipal must list all ${MANY_SESSIONS} sessions of one principal: it listed ${found.length} (${missing} missing; does the store read only the first page of its index?)`,
      )
      assert.deepEqual(found, created.sort(), 'findByPrincipal listed other ids than the ones created')
    },
  },
  {
    id: 'expiry/granularity',
    title: 'an expiresAt between whole seconds holds to the millisecond (no TTL rounded down to seconds)',
    timing: true,
    async run({ store }) {
      // expiresAt 900 ms into a second: a backend TTL rounded down to whole seconds drops the
      // record 900 ms early. A load that starts 200 ms before the instant and ends before it
      // must find it; one that ends late proves nothing, so the attempt is repeated.
      for (let attempt = 0; attempt < 4; attempt++) {
        const now = Date.now()
        const expiresAt = Math.ceil((now + 1_500) / 1_000) * 1_000 + 900
        const meta = { createdAt: now, lastAccessedAt: now, maxInactiveMs: expiresAt - now, expiresAt }
        const { id } = await create(store, { a: '1' }, meta)
        await waitUntilPast(expiresAt - 200)
        const record = await store.load(id)
        if (Date.now() >= expiresAt) continue
        assertAttributes(
          record,
          { a: '1' },
          `the session vanished ${expiresAt - Date.now()} ms before its expiresAt (${expiresAt % 1000} ms into a second): a TTL rounded down to whole seconds`,
        )
        await waitUntilPast(expiresAt)
        assert.equal(await store.load(id), undefined, 'returned after expiresAt (expiry must be exact)')
        return
      }
      throw new assert.AssertionError({
        message: 'no load finished within 200 ms in 4 attempts: the check was inconclusive',
      })
    },
  },
  {
    id: 'repository/size-limit',
    title:
      'a session of exactly maxSizeBytes (UTF-8 bytes, multi-byte characters) saves and loads back; one byte over is refused and changes nothing',
    async run({ store }) {
      const maxSizeBytes = 64 * 1024
      const repository = new SessionRepository({ store, maxSizeBytes })
      // Encoded size = name (1 byte) + the JSON string's quotes (2) + the string's UTF-8 bytes.
      const multi = 'é€😀'.repeat(1_000) // 2 + 3 + 4 bytes per repetition
      const value = multi + 'x'.repeat(maxSizeBytes - 3 - Buffer.byteLength(multi))
      const session = repository.create()
      session.data.v = value
      assert.equal(
        await repository.save(session),
        'created',
        `a session of exactly ${maxSizeBytes} bytes must save`,
      )
      const loaded = await repository.load(session.id)
      assert.ok(loaded, `a session of exactly ${maxSizeBytes} bytes did not load back`)
      assert.equal(
        (loaded.data as { v?: string }).v === value,
        true,
        `a session of exactly ${maxSizeBytes} bytes loaded back changed (length ${String((loaded.data as { v?: string }).v?.length)}, saved ${value.length})`,
      )
      loaded.data.v = `${value}x`
      const over = await repository.save(loaded).then(
        () => undefined,
        (error: unknown) => error,
      )
      assert.ok(
        isSessionError(over, 'SESSION_TOO_LARGE'),
        `one byte over maxSizeBytes must be refused with SESSION_TOO_LARGE, got ${String(over)}`,
      )
      const after = await repository.load(session.id)
      assert.equal(
        (after?.data as { v?: string } | undefined)?.v === value,
        true,
        'a refused save changed the session',
      )
    },
  },
]
