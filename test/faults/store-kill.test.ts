import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createApiKey, fileKeyStore } from '@callsign/api-key'
import { describe, expect, it } from 'vitest'
import { cliCommand } from '../support/run-cli.js'

// A process killed (SIGKILL) in the middle of key store writes, several times at random points:
// the file stays valid JSON of version 1, every key the child reported as committed is in it,
// and a new writer takes the lock. The 20-process CLI test is packages/cli/test/keys.test.ts.

const writer = fileURLToPath(new URL('./support/store-writer.ts', import.meta.url))

/** Starts the writer child (tsx, from source, like the CLI) and collects the ids it commits. */
function startWriter(path: string, owner: string) {
  const child: ChildProcess = spawn(cliCommand[0]!, [...cliCommand.slice(1, -1), writer, path, owner], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const committed: string[] = []
  let partial = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() ?? ''
    committed.push(...lines.filter(Boolean))
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<void>((done) => child.on('exit', () => done()))
  return { child, committed, exited, stderr: () => stderr }
}

function storeIds(path: string): Set<string> {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { version: number; keys: { id: string }[] }
  expect(parsed.version).toBe(1)
  expect(Array.isArray(parsed.keys)).toBe(true)
  return new Set(parsed.keys.map((key) => key.id))
}

describe('a key store writer killed mid-write', () => {
  it('leaves a valid store holding every committed key after 6 SIGKILLs at random points, and a new writer takes the lock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'callsign-kill-'))
    const path = join(dir, 'keys.json')
    const committed: string[] = []
    for (let round = 0; round < 6; round++) {
      const run = startWriter(path, `writer-${round}`)
      // wait for a random number of commits (1..4), then kill after a random few milliseconds
      const target = committed.length + 1 + Math.floor(Math.random() * 4)
      while (committed.length + run.committed.length < target) {
        if (run.child.exitCode !== null) throw new Error(`writer exited early: ${run.stderr()}`)
        await new Promise((done) => setTimeout(done, 5))
      }
      await new Promise((done) => setTimeout(done, Math.floor(Math.random() * 15)))
      run.child.kill('SIGKILL')
      await run.exited
      committed.push(...run.committed)
      const ids = storeIds(path)
      for (const id of committed) expect(ids.has(id)).toBe(true)
    }
    expect(committed.length).toBeGreaterThanOrEqual(6)
    // a new writer breaks any lock the dead ones left and commits
    const store = fileKeyStore(path, { watch: false, lockTimeoutMs: 5000 })
    const { record } = await createApiKey(store, { owner: 'after', scopes: ['orders:read'] })
    const ids = storeIds(path)
    expect(ids.has(record.id)).toBe(true)
    for (const id of committed) expect(ids.has(id)).toBe(true)
    // and nothing but the store (and at most stale temporary files) is left behind
    expect(readdirSync(dir).filter((name) => name.endsWith('.lock'))).toEqual([])
  }, 60_000)
})
