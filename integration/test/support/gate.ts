import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * An HTTP gate for requests in other processes: each GET is held until `open()`. `arrived(n)`
 * resolves once n requests are waiting, so a test knows its slow writers are all in flight.
 */
export async function startGate() {
  const waiting: ServerResponse[] = []
  let opened = false
  let watchers: { n: number; resolve: () => void }[] = []
  const server = createServer((_req, res) => {
    if (opened) return void res.end('open')
    waiting.push(res)
    const due = watchers.filter((w) => waiting.length >= w.n)
    watchers = watchers.filter((w) => !due.includes(w))
    for (const w of due) w.resolve()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    arrived: (n: number) =>
      new Promise<void>((resolve) => {
        if (waiting.length >= n) resolve()
        else watchers.push({ n, resolve })
      }),
    open: () => {
      opened = true
      for (const res of waiting.splice(0)) res.end('open')
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
