import { isSessionError } from '@sessionkit/core'
import { describe, expect, it } from 'vitest'
import { Deadlines } from '../src/deadlines'
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

describe('Deadlines', () => {
  const never = () => new Promise<never>(() => {})

  it('rejects what outlives the bound with STORE_UNAVAILABLE, in start order, and lets the rest settle', async () => {
    const deadlines = new Deadlines(40)
    const order: string[] = []
    const first = deadlines.run('load', never).catch((err) => {
      order.push('first')
      return err
    })
    let release: (value: string) => void = () => {}
    const fast = deadlines.run('save', () => new Promise<string>((resolve) => (release = resolve)))
    const second = deadlines.run('touch', never).catch((err) => {
      order.push('second')
      return err
    })
    release('saved')
    expect(await fast).toBe('saved')
    const [a, b] = await Promise.all([first, second])
    expect(isSessionError(a, 'STORE_UNAVAILABLE')).toBe(true)
    expect(a.message).toBe('redis load did not complete within 40 ms')
    expect(b.message).toBe('redis touch did not complete within 40 ms')
    expect(order).toEqual(['first', 'second'])
  })

  it('watches an operation started after the first one timed out or settled', async () => {
    const deadlines = new Deadlines(30)
    await deadlines.run('load', async () => 'x')
    const late = await deadlines.run('delete', never).catch((err) => err)
    expect(isSessionError(late, 'STORE_UNAVAILABLE')).toBe(true)
    const after = await deadlines.run('save', never).catch((err) => err)
    expect(after.message).toBe('redis save did not complete within 30 ms')
  })

  it('maps a failure of the operation itself', async () => {
    const deadlines = new Deadlines(1000)
    const err = await deadlines
      .run('load', async () => {
        throw new Error('Connection is closed.')
      })
      .catch((e) => e)
    expect(isSessionError(err, 'STORE_UNAVAILABLE')).toBe(true)
    expect(err.message).toBe('redis load failed: Connection is closed.')
  })
})
