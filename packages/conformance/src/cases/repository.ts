import { type Codec, jsonCodec, SessionRepository, type SessionStore } from '@sessionkit/core'
import assert from '../assert'
import { newPrincipal } from '../helpers'
import type { ConformanceCase } from '../types'

const DAY = 86_400_000

// Whole requests through core's repository: what users see when a store breaks a rule.
export const repositoryCases: readonly ConformanceCase[] = [
  {
    id: 'repository/stale-writer',
    title:
      'a request that loaded before a login saves after it: the login, its timeout and its index entry stay',
    async run({ store, capabilities }) {
      const repository = new SessionRepository({ store, maxInactiveMs: DAY })
      const created = repository.create()
      created.data.cart = []
      await repository.save(created)
      const a = await repository.load(created.id)
      const b = await repository.load(created.id)
      assert.ok(a && b)
      const alice = newPrincipal('alice')
      b.setPrincipal(alice)
      b.maxInactiveMs = 30 * DAY
      assert.equal(await repository.save(b), 'saved')
      a.data.cart = ['apple']
      assert.equal(await repository.save(a), 'saved')

      const after = await repository.load(created.id)
      assert.deepEqual(after?.data, { cart: ['apple'] }, 'the stale request’s attribute')
      assert.equal(after?.principal, alice, 'a stale save logged the user out (principal undone)')
      assert.equal(after?.maxInactiveMs, 30 * DAY, 'a stale save undid the idle timeout')
      assert.ok(after.expiresAt > Date.now() + 29 * DAY, 'a stale save shortened the expiry')
      if (capabilities.principalIndex) {
        const found = await repository.findByPrincipal(alice)
        assert.deepEqual(
          found.map((s) => s.id),
          [created.id],
          'after a stale save, "log out everywhere" misses the session',
        )
      }
    },
  },
  {
    id: 'repository/odd-timeout',
    title: 'a fractional idle timeout set by app code saves, loads, and expires as an integer',
    async run({ store }) {
      const repository = new SessionRepository({ store })
      const session = repository.create()
      session.data.n = 1
      session.maxInactiveMs = 3_600_000 / 7
      assert.equal(await repository.save(session), 'created')
      const loaded = await repository.load(session.id)
      assert.ok(loaded, 'a session with a fractional idle timeout did not load back')
      assert.ok(Number.isInteger(loaded.maxInactiveMs), `maxInactiveMs loaded as ${loaded.maxInactiveMs}`)
      loaded.maxInactiveMs = 7_200_000 / 7
      loaded.data.n = 2
      assert.equal(await repository.save(loaded), 'saved')
      assert.deepEqual((await repository.load(session.id))?.data, { n: 2 })
    },
  },
  {
    id: 'repository/deep-value',
    title: 'a value nested 3 000 levels deep with hostile keys saves and loads back',
    async run({ store }) {
      const repository = new SessionRepository({ store })
      let value: unknown = { constructor: 'x', text: 'caf\u00e9 \\u0041' }
      for (let i = 0; i < 3_000; i++) value = { level: value }
      const session = repository.create()
      session.data.deep = value
      await repository.save(session)
      const errors: unknown[] = []
      repository.on('error', (err) => errors.push(err))
      const loaded = await repository.load(session.id)
      assert.ok(loaded, `a deep value saved but did not load back: ${String(errors[0])}`)
      let inner = loaded.data.deep as { level?: unknown; text?: string; constructor?: unknown }
      for (let i = 0; i < 3_000; i++) inner = inner.level as typeof inner
      assert.equal(inner.text, 'caf\u00e9 \\u0041')
      assert.ok(!Object.hasOwn(inner, 'constructor'), 'a `constructor` key survived decoding')
    },
  },
  {
    id: 'repository/destroy-all',
    title: 'destroyAllFor deletes every session of the principal, also ones the codec cannot decode',
    requires: ['principalIndex'],
    async run({ store }) {
      const principal = newPrincipal()
      const v1 = new SessionRepository({ store })
      const ids: string[] = []
      for (let n = 0; n < 3; n++) {
        const session = v1.create()
        session.data.n = n
        session.setPrincipal(principal)
        await v1.save(session)
        ids.push(session.id)
      }
      // A rolling deploy changed the codec: the old sessions no longer decode.
      const strict: Codec = {
        encode: (value) => `v2:${jsonCodec.encode(value)}`,
        decode: (text) => {
          if (!text.startsWith('v2:')) throw new Error('not a v2 value')
          return jsonCodec.decode(text.slice(3))
        },
      }
      const v2 = new SessionRepository({ store, codec: strict })
      v2.on('error', () => {})
      assert.equal(await v2.destroyAllFor(principal), 3)
      for (const id of ids) {
        assert.equal(
          await (store as SessionStore).load(id),
          undefined,
          '"log out everywhere" left a session it could not decode',
        )
      }
    },
  },
  {
    id: 'repository/destroy-all-any-id',
    title:
      'destroyAllFor through a repository with another id rule (a prefix, a custom genid) deletes and counts every session the store returned',
    requires: ['principalIndex'],
    async run({ store }) {
      const principal = newPrincipal()
      const issuing = new SessionRepository({ store })
      const ids: string[] = []
      for (let n = 0; n < 3; n++) {
        const session = issuing.create()
        session.data.n = n
        session.setPrincipal(principal)
        await issuing.save(session)
        ids.push(session.id)
      }
      // An admin tool, or an app whose genid issues prefixed ids: the store's ids fail its rule.
      const admin = new SessionRepository({ store, validateId: (id) => id.startsWith('app:') })
      assert.equal(
        await admin.destroyAllFor(principal),
        3,
        'destroyAllFor did not answer the number it deleted',
      )
      for (const id of ids) {
        assert.equal(await store.load(id), undefined, 'destroyAllFor counted a session it did not delete')
      }
    },
  },
]
