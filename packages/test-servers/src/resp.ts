import { connect } from 'node:net'

/** A decoded RESP reply: enough of RESP2 for readiness probes and admin commands. */
export type Reply = string | number | null | Reply[] | Error

/**
 * Sends one command on a fresh connection and returns its reply. Probes use this rather than
 * ioredis so that polling a node that is not up yet costs one refused connection, with no
 * client-side reconnect loop or offline queue to tear down.
 */
export function command(port: number, args: (string | number)[], timeoutMs = 1000, host = '127.0.0.1') {
  return new Promise<Reply>((resolve, reject) => {
    const socket = connect({ host, port })
    let buffer = Buffer.alloc(0)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`${host}:${port} did not answer ${String(args[0])} within ${timeoutMs} ms`))
    }, timeoutMs)
    const finish = (fn: () => void) => {
      clearTimeout(timer)
      socket.destroy()
      fn()
    }
    socket.on('error', (err) => finish(() => reject(err)))
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk])
      const parsed = parse(buffer, 0)
      if (parsed) finish(() => resolve(parsed.value))
    })
    socket.write(encode(args))
  })
}

function encode(args: (string | number)[]): string {
  let out = `*${args.length}\r\n`
  for (const arg of args) {
    const s = String(arg)
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`
  }
  return out
}

/** Undefined until the buffer holds one complete reply. */
function parse(buf: Buffer, at: number): { value: Reply; end: number } | undefined {
  const eol = buf.indexOf('\r\n', at)
  if (eol < 0) return undefined
  const type = String.fromCharCode(buf[at]!)
  const line = buf.toString('utf8', at + 1, eol)
  switch (type) {
    case '+':
      return { value: line, end: eol + 2 }
    case '-':
      return { value: new Error(line), end: eol + 2 }
    case ':':
      return { value: Number(line), end: eol + 2 }
    case '$': {
      const len = Number(line)
      if (len < 0) return { value: null, end: eol + 2 }
      if (buf.length < eol + 2 + len + 2) return undefined
      return { value: buf.toString('utf8', eol + 2, eol + 2 + len), end: eol + 2 + len + 2 }
    }
    case '*': {
      const count = Number(line)
      if (count < 0) return { value: null, end: eol + 2 }
      const items: Reply[] = []
      let end = eol + 2
      for (let i = 0; i < count; i++) {
        const item = parse(buf, end)
        if (!item) return undefined
        items.push(item.value)
        end = item.end
      }
      return { value: items, end }
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`)
  }
}

/** `command` that turns an error reply into a rejection. */
export async function call(port: number, args: (string | number)[], timeoutMs?: number): Promise<Reply> {
  const reply = await command(port, args, timeoutMs)
  if (reply instanceof Error) throw reply
  return reply
}

/** Parses `INFO`/`CLUSTER INFO` text into fields. */
export function infoFields(text: Reply): Record<string, string> {
  const out: Record<string, string> = {}
  if (typeof text !== 'string') return out
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':')
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1)
  }
  return out
}

/**
 * Polls `check` until it returns a value other than undefined/false, or fails after
 * `timeoutMs` with the last error seen. Waiting on a condition, never a fixed sleep.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) {
      const reason = last instanceof Error ? `: ${last.message}` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`)
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
