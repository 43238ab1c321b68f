import { describe, expect, it } from 'vitest'
import { isNetworkError } from '../src/index'

describe('isNetworkError', () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'UND_ERR_SOCKET'])(
    'is true for a socket failure code %s',
    (code) => {
      expect(isNetworkError(Object.assign(new Error('x'), { code }))).toBe(true)
    },
  )

  it.each([
    ['an error without a code', new Error('ECONNREFUSED in the message only')],
    ['an application code', Object.assign(new Error('x'), { code: 'ENOENT' })],
    ['a numeric code', Object.assign(new Error('x'), { code: 111 })],
    ['null', null],
    ['undefined', undefined],
  ])('is false for %s', (_, err) => {
    expect(isNetworkError(err)).toBe(false)
  })
})
