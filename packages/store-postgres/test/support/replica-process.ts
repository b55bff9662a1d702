import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'

/** A service replica process (support/service-replica.ts, bundled) and the lines it printed so far. */
export interface ReplicaProcess {
  readonly kind: string
  readonly lines: string[]
  /** Closes its stdin (it then stops), and kills it if it has not exited a moment later. */
  stop(): void
}

/** The replica's refusals so far: when (epoch ms), the status (HTTP, or the gRPC code) and the audit reason. */
export function refusals(replica: ReplicaProcess): { at: number; status: number; reason: string }[] {
  return replica.lines
    .filter((line) => line.startsWith('refused '))
    .map((line) => {
      const [, at, status, reason] = line.split(' ')
      return { at: Number(at), status: Number(status), reason: reason ?? '' }
    })
}

/** Starts `service-replica <url> <schema> <kind> <key>` from the bundled `script`. */
export function startReplica(
  script: string,
  url: string,
  schema: string,
  kind: 'fastify' | 'express' | 'grpc',
  key: string,
): ReplicaProcess {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [script, url, schema, kind, key])
  const lines: string[] = []
  let pending = ''
  child.stdout.on('data', (chunk) => {
    pending += chunk
    const parts = pending.split('\n')
    pending = parts.pop() ?? ''
    lines.push(...parts)
  })
  child.stderr.resume()
  return {
    kind,
    lines,
    stop() {
      child.stdin.end()
      setTimeout(() => child.kill(), 2000).unref()
    },
  }
}
