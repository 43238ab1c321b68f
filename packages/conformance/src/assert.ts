import strict from 'node:assert/strict'
import { inspect } from 'node:util'

/**
 * `node:assert/strict` with messages a store author can act on: every failed `equal` or
 * `deepEqual` says what the store returned next to what the contract expected, whether or not
 * the case gave a message (node drops both values from a custom message). The runner prefixes
 * the case's promise (its title): "rotation of a deleted session answers gone …: the store
 * returned 'saved', expected 'gone'".
 */
function show(value: unknown): string {
  const text = inspect(value, {
    depth: 4,
    maxArrayLength: 12,
    maxStringLength: 120,
    breakLength: Number.POSITIVE_INFINITY,
    sorted: true,
  })
  return text.length > 600 ? `${text.slice(0, 600)}… (${text.length} characters)` : text
}

function fail(
  actual: unknown,
  expected: unknown,
  message: string | undefined,
  operator: string,
  stackStartFn: (...args: never[]) => unknown,
): never {
  const returned = `the store returned ${show(actual)}, expected ${show(expected)}`
  throw new strict.AssertionError({
    message: message === undefined ? returned : `${message}: ${returned}`,
    actual,
    expected,
    operator,
    stackStartFn,
  })
}

function equal<T>(actual: unknown, expected: T, message?: string): asserts actual is T {
  if (!Object.is(actual, expected)) fail(actual, expected, message, 'strictEqual', equal)
}

function deepEqual<T>(actual: unknown, expected: T, message?: string): asserts actual is T {
  try {
    strict.deepEqual(actual, expected)
  } catch {
    fail(actual, expected, message, 'deepStrictEqual', deepEqual)
  }
}

function ok(value: unknown, message?: string): asserts value {
  if (!value) {
    throw new strict.AssertionError({
      message: message ?? `expected a truthy value, the store gave ${show(value)}`,
      actual: value,
      expected: true,
      operator: '==',
      stackStartFn: ok,
    })
  }
}

const assert: {
  equal: typeof equal
  deepEqual: typeof deepEqual
  ok: typeof ok
  AssertionError: typeof strict.AssertionError
} = { equal, deepEqual, ok, AssertionError: strict.AssertionError }

export default assert
