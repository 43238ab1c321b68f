import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../memory/src/index.ts'
import { SessionManager, SessionRepository } from '../src/index'

/** The message of what `make` throws. */
function messageOf(make: () => unknown): string {
  try {
    make()
  } catch (err) {
    return (err as Error).message
  }
  throw new Error('did not throw')
}

describe('error messages say what to do', () => {
  it("an invalid option names the binding's option (optionNames) and the unit", () => {
    const store = new MemoryStore()
    const names = {
      absoluteTimeoutMs: 'absoluteTimeout',
      touchAfterMs: 'touchAfter',
      browserSessionTimeoutMs: 'browserSessionTimeout',
    }
    expect(messageOf(() => new SessionManager({ store, absoluteTimeoutMs: -5, optionNames: names }))).toBe(
      'absoluteTimeout must be a positive number of ms (a whole number, e.g. 3600000 for an hour), got -5',
    )
    expect(messageOf(() => new SessionManager({ store, touchAfterMs: -1, optionNames: names }))).toMatch(
      /^touchAfter must be a whole number of ms from 0 to below the idle timeout \(86400000 ms\), or Infinity for never, got -1$/,
    )
    expect(
      messageOf(() => new SessionManager({ store, browserSessionTimeoutMs: 0.5, optionNames: names })),
    ).toMatch(/^browserSessionTimeout must be a positive number of ms/)
    expect(messageOf(() => new SessionRepository({ store, maxSizeBytes: 0 }))).toMatch(
      /^maxSizeBytes must be a positive whole number of bytes/,
    )
    // Without a map, core's own names.
    expect(messageOf(() => new SessionRepository({ store, absoluteTimeoutMs: -5 }))).toMatch(
      /^absoluteTimeoutMs must be a positive number of ms/,
    )
  })

  it('NOT_SUPPORTED for a missing principal index names the stores that have one', async () => {
    const store = new MemoryStore()
    const withoutIndex = Object.assign(Object.create(store), {
      capabilities: { principalIndex: false, shared: false },
    })
    const repository = new SessionRepository({ store: withoutIndex })
    await expect(repository.destroyAllFor('alice')).rejects.toMatchObject({
      code: 'NOT_SUPPORTED',
      message: expect.stringMatching(/MemoryStore, RedisStore, DynamoDBStore, PostgresStore/),
    })
  })
})
