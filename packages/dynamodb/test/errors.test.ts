import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb'
import { isSessionError } from '@sessionkit/core'
import { describe, expect, it } from 'vitest'
import { bounded, toSessionError } from '../src/errors'

// Throttling cannot be provoked on DynamoDB Local: the mapping is checked on the SDK's own classes.
const meta = { $metadata: {} }

describe('toSessionError', () => {
  it.each([
    ['ThrottlingException', new ThrottlingException({ message: 'slow down', ...meta })],
    [
      'ProvisionedThroughputExceededException',
      new ProvisionedThroughputExceededException({ message: 'over capacity', ...meta }),
    ],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['a 503 answer', Object.assign(new Error('unavailable'), { $metadata: { httpStatusCode: 503 } })],
  ])('%s is STORE_UNAVAILABLE', (_label, err) => {
    const mapped = toSessionError(err, 'load')
    expect(mapped.code).toBe('STORE_UNAVAILABLE')
    expect(mapped.cause).toBe(err)
  })

  it('a missing table is STORE_ERROR naming the table helpers', () => {
    const mapped = toSessionError(new ResourceNotFoundException({ message: 'no table', ...meta }), 'save')
    expect(mapped.code).toBe('STORE_ERROR')
    expect(mapped.message).toMatch(/ensureTable\(\)/)
  })

  it('an item over the limit is SESSION_TOO_LARGE; other failures STORE_ERROR', () => {
    const tooLarge = Object.assign(new Error('Item size to update has exceeded the maximum allowed size'), {
      name: 'ValidationException',
    })
    expect(toSessionError(tooLarge, 'save', 'abcdefgh').code).toBe('SESSION_TOO_LARGE')
    expect(toSessionError(new ConditionalCheckFailedException({ message: 'x', ...meta }), 'save').code).toBe(
      'STORE_ERROR',
    )
  })
})

describe('bounded', () => {
  it('rejects with STORE_UNAVAILABLE at the bound and aborts the request', async () => {
    let aborted = false
    const err = await bounded('load', 50, '', (signal) => {
      signal.addEventListener('abort', () => {
        aborted = true
      })
      return new Promise(() => {})
    }).catch((e: unknown) => e)
    expect(isSessionError(err, 'STORE_UNAVAILABLE')).toBe(true)
    expect((err as Error).message).toMatch(/within 50 ms/)
    expect(aborted).toBe(true)
  })
})
