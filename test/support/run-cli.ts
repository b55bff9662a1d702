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

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Spawns the real `callsign` command (a child process, from source) and collects its output. */
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
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(options.input ?? '')
  })
}
