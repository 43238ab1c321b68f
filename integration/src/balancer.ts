import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type BalancerMode = 'round-robin' | 'sticky'

export interface BalancerBackend {
  name: string
  /** `http://127.0.0.1:<port>` */
  url: string
}

/** One proxied request, as `onRequest` sees it. */
export interface BalancerLogEntry {
  method: string
  path: string
  backend: string | undefined
  status: number
  ms: number
  /** The response's `x-session` and `x-counter` headers (the apps set them), when present. */
  session: string | undefined
  counter: string | undefined
}

export interface BalancerOptions {
  backends: BalancerBackend[]
  mode?: BalancerMode
  /** 0 (default): a free port. */
  port?: number
  /** Cookie that pins a client to a backend in sticky mode. */
  pinCookie?: string
  /** A backend that sends no response headers within this bound gets a 504. Default 10 s. */
  timeoutMs?: number
  onRequest?: (entry: BalancerLogEntry) => void
  /** Requests the balancer answers itself (the demo's page and controls): return true when handled. */
  intercept?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean | Promise<boolean>
}

export interface Balancer {
  url: string
  port: number
  mode: BalancerMode
  setBackends(backends: BalancerBackend[]): void
  /** Responses per backend since start (or the last `resetCounts`). */
  counts(): Record<string, number>
  resetCounts(): void
  close(): Promise<void>
}

const MAX_BODY = 1 << 20
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection'])

/**
 * A small HTTP load balancer on loopback: round-robin, or sticky (a cookie pins each client
 * to the backend that served its first request, as cloud balancers' session affinity does).
 * A backend that refuses the connection is skipped and the next one tried, in both modes; in
 * sticky mode the client is then pinned to the new one. Request bodies are buffered (they
 * are small here) so a refused request can be replayed.
 */
export async function startBalancer(options: BalancerOptions): Promise<Balancer> {
  let backends = [...options.backends]
  let next = 0
  let counts: Record<string, number> = {}
  const pinCookie = options.pinCookie ?? 'sk_lb'
  const timeoutMs = options.timeoutMs ?? 10_000

  const order = (pinned: string | undefined): BalancerBackend[] => {
    const start = next++ % Math.max(backends.length, 1)
    const rotated = [...backends.slice(start), ...backends.slice(0, start)]
    const pin = rotated.find((b) => b.name === pinned)
    return pin ? [pin, ...rotated.filter((b) => b !== pin)] : rotated
  }

  const server = createServer(async (req, res) => {
    const started = performance.now()
    let body: Buffer
    try {
      body = await readBody(req)
    } catch {
      res.writeHead(413).end()
      return
    }
    if (options.intercept && (await options.intercept(req, res, body))) return

    const sticky = balancer.mode === 'sticky'
    const pinned = sticky ? readPin(req.headers.cookie, pinCookie) : undefined
    let lastError = 'no backend configured'
    for (const backend of order(pinned)) {
      const outcome = await forward(req, body, backend, timeoutMs)
      if (outcome.kind === 'refused') {
        lastError = `${backend.name} refused the connection`
        continue
      }
      if (outcome.kind === 'timeout' || outcome.kind === 'failed') {
        reply(res, outcome.kind === 'timeout' ? 504 : 502, `${backend.name}: ${outcome.message}`)
        log(backend.name, res.statusCode, undefined)
        return
      }
      const upstream = outcome.response
      const headers: Record<string, string | string[]> = {}
      for (const [key, value] of Object.entries(upstream.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(key)) headers[key] = value
      }
      if (sticky && pinned !== backend.name) {
        const pin = `${pinCookie}=${encodeURIComponent(backend.name)}; Path=/; HttpOnly; SameSite=Lax`
        const existing = headers['set-cookie']
        headers['set-cookie'] = [...(Array.isArray(existing) ? existing : existing ? [existing] : []), pin]
      }
      res.writeHead(upstream.statusCode ?? 502, headers)
      upstream.pipe(res)
      upstream.once('end', () => log(backend.name, upstream.statusCode ?? 502, upstream))
      return
    }
    reply(res, 502, lastError)
    log(undefined, 502, undefined)

    function log(name: string | undefined, status: number, upstream: IncomingMessage | undefined) {
      if (name) counts[name] = (counts[name] ?? 0) + 1
      options.onRequest?.({
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        backend: name,
        status,
        ms: performance.now() - started,
        session: header(upstream, 'x-session'),
        counter: header(upstream, 'x-counter'),
      })
    }
  })
  server.listen(options.port ?? 0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  const { port } = server.address() as AddressInfo

  const balancer: Balancer = {
    url: `http://127.0.0.1:${port}`,
    port,
    mode: options.mode ?? 'round-robin',
    setBackends: (list) => {
      backends = [...list]
    },
    counts: () => ({ ...counts }),
    resetCounts: () => {
      counts = {}
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  return balancer
}

type Outcome =
  | { kind: 'response'; response: IncomingMessage }
  | { kind: 'refused' }
  | { kind: 'timeout'; message: string }
  | { kind: 'failed'; message: string }

/** Sends one request to one backend; "refused" means nothing reached it, so it may be replayed. */
function forward(req: IncomingMessage, body: Buffer, backend: BalancerBackend, timeoutMs: number) {
  return new Promise<Outcome>((resolve) => {
    const target = new URL(backend.url)
    const headers = { ...req.headers, 'content-length': String(body.length) }
    delete headers['transfer-encoding']
    delete headers.connection
    const upstream = request({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
      agent: false,
    })
    const timer = setTimeout(() => {
      upstream.destroy()
      resolve({ kind: 'timeout', message: `no response within ${timeoutMs} ms` })
    }, timeoutMs)
    upstream.once('response', (response) => {
      clearTimeout(timer)
      resolve({ kind: 'response', response })
    })
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      // ECONNREFUSED: nothing listens (a killed instance); ECONNRESET before any response: it
      // died while accepting. Neither processed the request.
      if (err.code === 'ECONNREFUSED') resolve({ kind: 'refused' })
      else resolve({ kind: 'failed', message: err.message })
    })
    upstream.end(body)
  })
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY) {
        reject(new Error('body too large'))
        req.destroy()
      } else chunks.push(chunk)
    })
    req.once('end', () => resolve(Buffer.concat(chunks)))
    req.once('error', reject)
  })
}

function readPin(cookieHeader: string | undefined, name: string): string | undefined {
  for (const part of cookieHeader?.split(';') ?? []) {
    const [key, ...rest] = part.trim().split('=')
    if (key === name) {
      try {
        return decodeURIComponent(rest.join('='))
      } catch {
        return undefined
      }
    }
  }
  return undefined
}

function reply(res: ServerResponse, status: number, message: string) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ error: 'BALANCER', message }))
}

function header(upstream: IncomingMessage | undefined, name: string): string | undefined {
  const value = upstream?.headers[name]
  return typeof value === 'string' ? value : undefined
}
