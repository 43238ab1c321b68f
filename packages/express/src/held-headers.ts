import type { ServerResponse } from 'node:http'

/** What Node throws for a header change once the headers are sent. */
function headersSentError(): Error {
  return Object.assign(new Error('Cannot set headers after they are sent to the client'), {
    code: 'ERR_HTTP_HEADERS_SENT',
  })
}

const HEADER_METHODS = ['setHeader', 'setHeaders', 'appendHeader', 'removeHeader', 'writeHead'] as const

/**
 * While the headers of an ended response wait for the store, the response looks to the app as
 * express-session's looks by then (its headers left at `res.end`): `res.headersSent` is true, a
 * header change throws Node's `ERR_HTTP_HEADERS_SENT` (a second `res.send` fails as it would),
 * and a status set meanwhile is dropped. Without this a second `res.send` would rewrite the
 * `Content-Length` of the body already given. Answers the function that undoes it, called
 * before the headers go out or before the error handler answers instead.
 */
export function freezeHeaders(res: ServerResponse): () => void {
  const names = ['headersSent', ...HEADER_METHODS] as const
  const own = names.map((name) => Object.getOwnPropertyDescriptor(res, name))
  const { statusCode, statusMessage } = res
  const sent = () => {
    throw headersSentError()
  }
  Object.defineProperty(res, 'headersSent', { get: () => true, configurable: true })
  for (const name of HEADER_METHODS)
    Object.defineProperty(res, name, { value: sent, writable: true, configurable: true })
  return () => {
    names.forEach((name, i) => {
      const descriptor = own[i]
      if (descriptor) Object.defineProperty(res, name, descriptor)
      else delete (res as unknown as Record<string, unknown>)[name]
    })
    res.statusCode = statusCode
    res.statusMessage = statusMessage
  }
}

/** How {@link gateHeaders} tells the caller where a streamed response stands. */
export interface HeaderGate {
  /** The save that must precede the headers is running: calls are queued meanwhile. */
  readonly waiting: boolean
  /** Queues a call to run, in order, once the save succeeded (dropped if it fails). */
  defer(call: () => void): void
}

/**
 * For a response that streams (`res.write`, `res.writeHead` or `res.flushHeaders` before
 * `res.end`): the headers would leave with that first call, so when `needed()` says they would
 * carry the cookie of a session not yet in the store, `save()` runs first and that call, and
 * every one after it, is queued (`res.write` answers true: the chunks are kept) until it
 * succeeded, then replayed in order. If it fails, nothing was sent: the queue is dropped and
 * `failed(err)` lets the error handler answer; the app's writes after that answer are dropped.
 */
export function gateHeaders(
  res: ServerResponse,
  needed: () => boolean,
  save: () => Promise<unknown>,
  failed: (err: unknown) => void,
): HeaderGate {
  let state: 'idle' | 'waiting' | 'done' | 'failed' = 'idle'
  const queue: (() => void)[] = []
  const start = () => {
    state = 'waiting'
    save().then(
      () => {
        state = 'done'
        for (const call of queue.splice(0)) call()
      },
      (err: unknown) => {
        state = 'failed'
        queue.length = 0
        failed(err)
      },
    )
  }
  for (const name of ['write', 'writeHead', 'flushHeaders'] as const) {
    const real = res[name] as (...args: unknown[]) => unknown
    const self = name === 'write' ? () => true : () => res
    const held = function (this: ServerResponse, ...args: unknown[]): unknown {
      if (state === 'idle' && !res.headersSent && needed()) start()
      if (state === 'waiting') {
        // Replayed through this function, not `res[name]`: a patch the app put on top already ran.
        queue.push(() => held.apply(res, args))
        return self()
      }
      // The error handler answered: the app's stream goes nowhere.
      if (state === 'failed' && res.writableEnded) return name === 'write' ? false : res
      return real.apply(this, args)
    }
    ;(res as unknown as Record<string, unknown>)[name] = held
  }
  return {
    get waiting() {
      return state === 'waiting'
    },
    defer: (call) => queue.push(call),
  }
}
