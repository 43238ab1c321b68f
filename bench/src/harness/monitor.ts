import { connect } from 'node:net'

/** Commands the app sent itself, and commands its scripts ran inside Redis. */
export interface CommandCount {
  sent: number
  inScripts: number
}

const END = 'bench-monitor-end'

/**
 * Counts the commands Redis receives while `during` runs, with MONITOR: it marks the
 * commands a script runs (`[0 lua]`), which INFO commandstats counts like any other. MONITOR
 * slows Redis down, so it runs in a pass of its own, never during the measured seconds.
 */
export async function countCommands(port: number, during: () => Promise<unknown>): Promise<CommandCount> {
  const count: CommandCount = { sent: 0, inScripts: 0 }
  const socket = connect({ host: '127.0.0.1', port })
  let buffer = ''
  let onStarted!: () => void
  let onEnd!: () => void
  const started = new Promise<void>((resolve) => {
    onStarted = resolve
  })
  const ended = new Promise<void>((resolve) => {
    onEnd = resolve
  })
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buffer += chunk
    for (let eol = buffer.indexOf('\r\n'); eol >= 0; eol = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, eol)
      buffer = buffer.slice(eol + 2)
      if (line === '+OK') onStarted()
      else if (line.includes(END)) onEnd()
      else if (line.includes(' [0 lua] ')) count.inScripts++
      else if (line.startsWith('+')) count.sent++
    }
  })
  socket.write('MONITOR\r\n')
  try {
    await started
    await during()
    // MONITOR lines may trail the replies: a marker command sent afterwards closes the count.
    const marker = connect({ host: '127.0.0.1', port }, () => marker.end(`ECHO ${END}\r\n`))
    await ended
  } finally {
    socket.destroy()
  }
  return count
}
