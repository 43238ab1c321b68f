import { connect } from 'node:net'

export interface RawReply {
  status: number
  headers: string
  body: string
}

/**
 * One HTTP/1.1 request written byte for byte: header values fetch() refuses to send (NUL,
 * raw UTF-8, a header given twice) reach the server as a hostile client would send them.
 */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headerLines: string[],
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to ${method} ${path} within 5 s`)))
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const [head = '', ...rest] = text.split('\r\n\r\n')
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
      if (!status) return reject(new Error(`no HTTP response: ${JSON.stringify(text.slice(0, 200))}`))
      resolve({ status, headers: head, body: rest.join('\r\n\r\n') })
    })
    const head = [
      `${method} ${path} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Connection: close',
      ...headerLines,
      '',
      '',
    ]
    socket.end(Buffer.from(head.join('\r\n'), 'utf8'))
  })
}
