import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { meshDir } from '../config.js'
import { nodeArgs } from './callsign.js'

const children = new Set<ChildProcess>()

/** Starts `src/services/<name>.ts` as a local process; its output goes to `<logs>/<logName>.log`. */
export function startService(
  name: string,
  env: NodeJS.ProcessEnv,
  logs: string,
  logName = name,
): ChildProcess {
  mkdirSync(logs, { recursive: true })
  const log = createWriteStream(join(logs, `${logName}.log`), { flags: 'a' })
  const child = spawn(process.execPath, [...nodeArgs, join(meshDir, 'src', 'services', `${name}.ts`)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout?.pipe(log)
  child.stderr?.pipe(log)
  children.add(child)
  child.on('exit', () => children.delete(child))
  return child
}

/** Stops every started process: SIGTERM, then SIGKILL for any still running after a grace period. */
export async function stopAll(graceMs = 4000): Promise<void> {
  const running = [...children]
  await Promise.all(
    running.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          const kill = setTimeout(() => child.kill('SIGKILL'), graceMs)
          child.once('exit', () => {
            clearTimeout(kill)
            resolve()
          })
          child.kill('SIGTERM')
        }),
    ),
  )
}

// Whatever happens to the demo, no service outlives it.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})
