import { isSessionError } from '@sessionkit/core'
import { describe, expect, it } from 'vitest'
import { toSessionError } from '../src/errors'

describe('toSessionError', () => {
  it.each([
    ['Connection is closed.'],
    // ioredis' error for a command in flight when the connection (a dying master) closed.
    ['Command aborted due to connection close'],
    ["READONLY You can't write against a read only replica."],
    ['CLUSTERDOWN The cluster is down'],
  ])('maps %j to STORE_UNAVAILABLE (503, retryable)', (message) => {
    const cause = new Error(message)
    const mapped = toSessionError(cause, 'save')
    expect(isSessionError(mapped, 'STORE_UNAVAILABLE')).toBe(true)
    expect(mapped.cause).toBe(cause)
  })

  it('maps a socket failure code to STORE_UNAVAILABLE', () => {
    const refused = Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' })
    expect(isSessionError(toSessionError(refused, 'load'), 'STORE_UNAVAILABLE')).toBe(true)
  })

  it('maps a script or type error to STORE_ERROR', () => {
    expect(isSessionError(toSessionError(new Error('ERR Error running script'), 'save'), 'STORE_ERROR')).toBe(
      true,
    )
    expect(isSessionError(toSessionError(new Error('WRONGTYPE Operation'), 'load'), 'STORE_ERROR')).toBe(true)
  })
})
