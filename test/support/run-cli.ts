import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
const bin = fileURLToPath(new URL('../../packages/cli/src/bin.ts', import.meta.url))

/** The argv that starts the real `callsign` command from source in a child process. */
// tsx by absolute path, so the command also starts from a working folder outside the repository
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
export const cliCommand: readonly string[] = [
  process.execPath,
  '--import',
  tsx,
  '--conditions=@callsign/source',
  bin,
]

/**
 * The time a test that starts `callsign` child processes may take. Each child starts Node and tsx
 * and loads the command from source: about a second of CPU, but many seconds of wall time on a
 * loaded machine (test files run in parallel, each spawning children), which the suite's default
 * of 20 s did not always cover. A hung child still fails fast enough: see {@link CHILD_TIMEOUT_MS}.
 */
export const CLI_TEST_TIMEOUT_MS = 120_000

/** How long one child may run before runCli kills it and rejects with its output so far. */
export const CHILD_TIMEOUT_MS = 60_000

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Spawns the real `callsign` command (a child process, from source) and collects its output. A child
 * still running after `timeoutMs` is killed, and the promise rejects naming the command.
 */
export function runCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cliCommand[0]!, [...cliCommand.slice(1), ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timeoutMs = options.timeoutMs ?? CHILD_TIMEOUT_MS
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (timedOut) {
        reject(new Error(`callsign ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${stderr}`))
      } else resolve({ code, stdout, stderr })
    })
    child.stdin.end(options.input ?? '')
  })
}
