import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { TargetMessage } from './target-process.js'

const entry = fileURLToPath(new URL('./target-process.ts', import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

type Stats = Extract<TargetMessage, { type: 'stats' }>

/** A server in its own child process, driven over IPC. */
export interface RemoteTarget {
  readonly name: string
  readonly port: number
  /** Starts counting the server's CPU time (and event-loop delay). */
  begin(): Promise<void>
  /** The server's CPU time (user + system) since `begin`, in µs. */
  end(): Promise<number>
  stats(): Promise<Stats>
  close(): Promise<void>
}

/** Env flag: how long each measured round lasts, in seconds. */
export const seconds = (name: string, fallback: number): number => {
  const value = Number(process.env[name])
  return Number.isFinite(value) && value > 0 ? value : fallback
}

/** Spawns `bench/support/target-process.ts` for one target and waits for its port. */
export function spawnTarget(name: string, fixtureFile: string): Promise<RemoteTarget> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      // BENCH_CPU_PROF=<dir>: a V8 CPU profile of every server, for finding where the time goes.
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      // Every server keeps the young generation a server under steady load has. V8 grows it to 16 MB
      // (its default maximum here) under load and shrinks it again while a process sits idle; a row
      // that idles while the others run would otherwise pay several times as many scavenges per
      // request as its baseline, which runs every few seconds (about +1 µs per request on Fastify).
      '--min-semi-space-size=16',
      '--import',
      tsx,
      '--conditions=@callsign/source',
      entry,
      fixtureFile,
      name,
    ],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  )
  let next = 0
  const waiting = new Map<number, (message: TargetMessage) => void>()
  const ask = (type: string) =>
    new Promise<TargetMessage>((resolve) => {
      const id = ++next
      waiting.set(id, resolve)
      child.send({ type, id })
    })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`target ${name} exited with ${code}`)))
    child.on('message', (message: TargetMessage) => {
      if (message.type === 'ready') {
        resolve({
          name,
          port: message.port,
          begin: async () => {
            await ask('begin')
          },
          end: async () => ((await ask('end')) as Extract<TargetMessage, { type: 'cpu' }>).micros,
          stats: async () => (await ask('stats')) as Stats,
          close: () =>
            new Promise<void>((done) => {
              child.removeAllListeners('exit')
              child.once('exit', () => done())
              child.send({ type: 'close', id: 0 })
              setTimeout(() => child.kill('SIGKILL'), 5_000).unref()
            }),
        })
        return
      }
      const id = (message as { id?: number }).id
      if (id !== undefined) {
        waiting.get(id)?.(message)
        waiting.delete(id)
      }
    })
  })
}
