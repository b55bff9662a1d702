import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process'
import { vi } from 'vitest'
import { bundleWorker } from '../../../../test/support/bundle-worker.js'

let bundle: string | undefined

/** Call once (in `beforeAll`) before starting workers: bundles `store-worker.ts`, once per test file. */
export async function prepareWorkers(): Promise<void> {
  bundle ??= await bundleWorker(new URL('./store-worker.ts', import.meta.url))
}

export interface Worker {
  readonly child: ChildProcessWithoutNullStreams
  /** Lines printed on stdout so far. */
  readonly lines: string[]
  stderr(): string
  /** The exit code (null when killed by a signal), once stdout and stderr are read to the end. */
  readonly exit: Promise<number | null>
  waitFor(line: string): Promise<void>
  /** Lets a worker started with `waitForGo` begin. */
  go(): void
}

const running = new Set<ChildProcessWithoutNullStreams>()

/** Starts `store-worker.ts` in a real child process (bundled from source). */
export function startWorker(
  args: readonly string[],
  options: { store?: object; waitForGo?: boolean; prefix?: readonly string[] } = {},
): Worker {
  if (bundle === undefined) throw new Error('call prepareWorkers() first')
  const argv = [...(options.prefix ?? []), process.execPath, bundle, ...args]
  const child = spawn(argv[0]!, argv.slice(1), {
    env: {
      ...process.env,
      STORE_OPTIONS: JSON.stringify(options.store ?? {}),
      WAIT_FOR_GO: options.waitForGo ? '1' : '0',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  running.add(child)
  const lines: string[] = []
  let partial = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const exit = new Promise<number | null>((done) =>
    child.on('close', (code) => {
      running.delete(child)
      done(code)
    }),
  )
  return {
    child,
    lines,
    stderr: () => stderr,
    exit,
    waitFor: (line) =>
      vi.waitFor(
        () => {
          if (!lines.includes(line)) {
            if (child.exitCode !== null) throw new Error(`worker exited early: ${stderr}`)
            throw new Error(`no "${line}" yet`)
          }
        },
        { timeout: 30_000, interval: 10 },
      ),
    go: () => child.stdin.write('go\n'),
  }
}

/** Kills every worker still running (after a failed test). */
export function killWorkers(): void {
  for (const child of running) {
    child.kill('SIGCONT')
    child.kill('SIGKILL')
  }
}

/** Why a second pid namespace cannot be made here, or undefined when it can. */
export function noPidNamespace(): string | undefined {
  const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', 'true'], {
    encoding: 'utf8',
  })
  if (probe.error) return `unshare is not available (${probe.error.message})`
  if (probe.status !== 0) return `unshare --pid is not permitted here (${probe.stderr.trim()})`
  return undefined
}
