import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Fixture } from './fixture.js'

/**
 * Child-process entry: `target-process.ts <fixture.json> <target>` starts one server, reports its
 * port over IPC, and answers the parent's requests for its own CPU time, memory and event-loop
 * delay, so the load generator never shares a process (or an event loop) with the server.
 */
export interface TargetHandle {
  readonly port: number
  /** Extra figures for the abuse benchmark (counters kept by the target). */
  stats?(): Record<string, number>
  close(): Promise<void>
}

export type TargetMessage =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'cpu'; readonly id: number; readonly micros: number }
  | {
      readonly type: 'stats'
      readonly id: number
      readonly rss: number
      readonly heapUsed: number
      readonly delay: { readonly p50: number; readonly p99: number; readonly max: number }
      readonly counters: Record<string, number>
    }

const [fixtureFile, name] = process.argv.slice(2) as [string, string]
const fixture = JSON.parse(readFileSync(fixtureFile, 'utf8')) as Fixture
const send = (message: TargetMessage) => process.send?.(message)

async function start(): Promise<TargetHandle> {
  if (name.startsWith('grpc')) return (await import('./grpc-targets.js')).startGrpcTarget(name, fixture)
  if (name.startsWith('abuse')) return (await import('./abuse-target.js')).startAbuseTarget(fixture)
  return (await import('./http-targets.js')).startHttpTarget(name, fixture)
}

const target = await start()
const delay = monitorEventLoopDelay({ resolution: 10 })
let cpuStart = process.cpuUsage()
process.on('message', (message: { type: string; id: number }) => {
  switch (message.type) {
    case 'begin':
      cpuStart = process.cpuUsage()
      delay.reset()
      delay.enable()
      send({ type: 'cpu', id: message.id, micros: 0 })
      break
    case 'end': {
      const used = process.cpuUsage(cpuStart)
      delay.disable()
      send({ type: 'cpu', id: message.id, micros: used.user + used.system })
      break
    }
    case 'stats': {
      const memory = process.memoryUsage()
      send({
        type: 'stats',
        id: message.id,
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        delay: {
          p50: delay.percentile(50) / 1e6,
          p99: delay.percentile(99) / 1e6,
          max: delay.max / 1e6,
        },
        counters: target.stats?.() ?? {},
      })
      break
    }
    case 'close':
      void target.close().finally(() => process.exit(0))
      break
  }
})
process.on('disconnect', () => process.exit(0))
send({ type: 'ready', port: target.port })
