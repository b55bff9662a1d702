import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const bin = fileURLToPath(new URL('../../../../packages/cli/src/bin.ts', import.meta.url))

/** `node --import tsx` with @callsign/* resolved to source: how the demo starts every process. */
export const nodeArgs = ['--import', tsx, '--conditions=@callsign/source']

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the real `callsign` command in a child process. */
export function callsign(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, bin, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Like {@link callsign}, but a non-zero exit is an error that carries stderr. */
export async function mustCallsign(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const run = await callsign(args, env)
  if (run.code !== 0)
    throw new Error(`callsign ${args.slice(0, 2).join(' ')} failed (${run.code}): ${run.stderr.trim()}`)
  return run.stdout
}
