import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { View } from '../../src/apps/index'

export interface Reply {
  status: number
  body: View & { error?: string; code?: string; message?: string; ended?: number }
  /** The instance that answered (`x-instance`), or undefined (balancer error). */
  instance: string | undefined
  setCookies: string[]
}

/**
 * One browser: a cookie jar and a default base URL (the balancer). `at(url)` sends the same
 * cookies straight to one instance.
 */
export class Client {
  readonly jar = new Map<string, string>()
  constructor(
    readonly baseUrl: string,
    readonly timeoutMs = 10_000,
  ) {}

  get cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  /** A second client holding a copy of these cookies (a stolen or stale cookie). */
  clone(): Client {
    const copy = new Client(this.baseUrl, this.timeoutMs)
    for (const [k, v] of this.jar) copy.jar.set(k, v)
    return copy
  }

  get(path: string, base?: string) {
    return this.send('GET', path, base)
  }

  post(path: string, base?: string) {
    return this.send('POST', path, base)
  }

  async send(method: string, path: string, base = this.baseUrl): Promise<Reply> {
    const res = await fetch(base + path, {
      method,
      headers: { cookie: this.cookieHeader },
      signal: AbortSignal.timeout(this.timeoutMs),
    })
    const setCookies = res.headers.getSetCookie()
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const expired = attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) <= Date.now())
      if (expired) this.jar.delete(name)
      else this.jar.set(name, pair!.slice(eq + 1))
    }
    const text = await res.text()
    let body: Reply['body']
    try {
      body = JSON.parse(text)
    } catch {
      body = { message: text } as Reply['body']
    }
    return { status: res.status, body, instance: res.headers.get('x-instance') ?? undefined, setCookies }
  }
}

/**
 * A rendezvous over HTTP for requests in other processes: each GET waits until `parties`
 * requests have arrived, then all are answered together. `arrived` resolves at that moment.
 */
export async function startBarrier(parties: number) {
  const waiting: ServerResponse[] = []
  let arrive!: () => void
  const arrived = new Promise<void>((resolve) => {
    arrive = resolve
  })
  const server = createServer((_req, res) => {
    waiting.push(res)
    if (waiting.length === parties) {
      for (const r of waiting) r.end('go')
      arrive()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    arrived,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
