import type { Server } from 'node:http'

/** Closes the server (and anything else) on SIGTERM or SIGINT, then exits: a clean stop, no stray process. */
export function closeOnSignal(close: () => Promise<unknown> | unknown): void {
  let closing = false
  const stop = async () => {
    if (closing) return
    closing = true
    const force = setTimeout(() => process.exit(0), 3000)
    force.unref()
    try {
      await close()
    } finally {
      process.exit(0)
    }
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

/** Resolves once an HTTP(S) server is listening. */
export function listening(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
}
