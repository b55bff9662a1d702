import { randomUUID } from 'node:crypto'
import { existsSync, writeFileSync } from 'node:fs'
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { runCli } from '../../../test/support/run-cli.js'
import { type ApiKeyRecord, createApiKey, fileKeyStore, KeyStoreError } from '../src/index.js'
import { bulkId, writeBulkStore } from './support/bulk-store.js'
import { killWorkers, noPidNamespace, prepareWorkers, startWorker, type Worker } from './support/workers.js'
import { tempDir } from './support.js'

// Real writer processes against one store file. Each test checks the store's promise: every write
// whose process exited 0 is in the final file, and every revoke that exited 0 stays revoked.
// The workers set staleLockMs very low: an age-based lock (the old design) would be broken under
// them, and the tests would lose writes.

let tmp: Awaited<ReturnType<typeof tempDir>>
let path: string
beforeAll(prepareWorkers)
beforeEach(async () => {
  tmp = await tempDir()
  path = tmp.file('keys.json')
})
afterEach(async () => {
  killWorkers()
  await tmp.remove()
})

async function finalRecords(): Promise<Map<string, ApiKeyRecord>> {
  const file = JSON.parse(await readFile(path, 'utf8')) as { version: number; keys: ApiKeyRecord[] }
  expect(file.version).toBe(1)
  return new Map(file.keys.map((record) => [record.id, record]))
}

/** Every create and revoke that exited 0 is in the final file; every hold that exited 0 left its label. */
async function expectConfirmedWritesKept(
  writes: { worker: Worker; op: 'create' | 'revoke' | 'hold'; id?: string }[],
): Promise<number> {
  const records = await finalRecords()
  let confirmed = 0
  for (const { worker, op, id } of writes) {
    if ((await worker.exit) !== 0) continue
    confirmed++
    if (op === 'create')
      expect(records.has(worker.lines.at(-1)!), `created key ${worker.lines.at(-1)}`).toBe(true)
    if (op === 'revoke') expect(records.get(id!)?.state, `revoked key ${id}`).toBe('revoked')
    if (op === 'hold') expect(records.get(id!)?.labels.held, `held write on ${id}`).toBe('yes')
  }
  return confirmed
}

const impatient = { staleLockMs: 50, lockTimeoutMs: 30_000 }

describe('fileKeyStore writers in separate processes', () => {
  it('never takes the lock from a paused writer (SIGSTOP): the waiting write lands after SIGCONT, and both are kept', async () => {
    await writeBulkStore(path, 1)
    const second = startWorker(['create', path, 'second'], { store: impatient, waitForGo: true })
    await second.waitFor('ready')
    const held = startWorker(['hold', path, bulkId(0), '300'])
    await held.waitFor('inside')
    held.child.kill('SIGSTOP')
    second.go()
    await sleep(1500) // far past staleLockMs: an age-based lock would be broken by now
    expect(second.child.exitCode).toBeNull() // still waiting for the paused holder
    held.child.kill('SIGCONT')
    expect(await held.exit).toBe(0)
    expect(await second.exit).toBe(0)
    expect(
      await expectConfirmedWritesKept([
        { worker: held, op: 'hold', id: bulkId(0) },
        { worker: second, op: 'create' },
      ]),
    ).toBe(2)
  }, 60_000)

  it('fails a write with ERR_KEY_STORE_LOCKED and exit 1 when a paused holder keeps the lock past lockTimeoutMs', async () => {
    await writeBulkStore(path, 1)
    const second = startWorker(['create', path, 'second'], {
      store: { staleLockMs: 50, lockTimeoutMs: 1000 },
      waitForGo: true,
    })
    await second.waitFor('ready')
    const held = startWorker(['hold', path, bulkId(0), '100'])
    await held.waitFor('inside')
    held.child.kill('SIGSTOP')
    second.go()
    expect(await second.exit).toBe(1)
    expect(second.stderr()).toMatch(/^ERR_KEY_STORE_LOCKED .*still running.*nothing was written/)
    held.child.kill('SIGCONT')
    expect(await held.exit).toBe(0)
    const records = await finalRecords()
    expect([...records.values()].map((record) => record.owner)).not.toContain('second')
    expect(await expectConfirmedWritesKept([{ worker: held, op: 'hold', id: bulkId(0) }])).toBe(1)
  }, 60_000)

  it('callsign keys revoke exits 1, naming the live holder, when a paused writer keeps the lock past its 10 s wait; the paused write is kept', async () => {
    await writeBulkStore(path, 2)
    const held = startWorker(['hold', path, bulkId(0), '100'])
    await held.waitFor('inside')
    held.child.kill('SIGSTOP')
    const revoke = await runCli(['keys', 'revoke', bulkId(1), '--store', path], { timeoutMs: 60_000 })
    expect(revoke.code).toBe(1)
    expect(revoke.stderr).toMatch(/locked by process \d+ .*still running.*nothing was written/)
    held.child.kill('SIGCONT')
    expect(await held.exit).toBe(0)
    const records = await finalRecords()
    expect(records.get(bulkId(1))?.state).toBe('active') // the revoke said it failed, and did nothing
    expect(await expectConfirmedWritesKept([{ worker: held, op: 'hold', id: bulkId(0) }])).toBe(1)
  }, 90_000)

  const noNamespace = noPidNamespace()
  if (noNamespace) console.warn(`skipping the second pid namespace tests: ${noNamespace}`)
  const unshare = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child']

  it.skipIf(noNamespace !== undefined)(
    'never takes the lock from a live writer in another pid namespace (another container on the volume)',
    async () => {
      await writeBulkStore(path, 1)
      const host = startWorker(['create', path, 'host'], { store: impatient, waitForGo: true })
      await host.waitFor('ready')
      const contained = startWorker(['hold', path, bulkId(0), '1500'], { prefix: unshare })
      await contained.waitFor('inside')
      host.go()
      expect(await contained.exit).toBe(0)
      expect(await host.exit).toBe(0)
      expect(
        await expectConfirmedWritesKept([
          { worker: contained, op: 'hold', id: bulkId(0) },
          { worker: host, op: 'create' },
        ]),
      ).toBe(2)
    },
    60_000,
  )

  it.skipIf(noNamespace !== undefined)(
    'breaks the lock of a writer killed in another pid namespace at once (its socket refuses)',
    async () => {
      await writeBulkStore(path, 1)
      const contained = startWorker(['hold', path, bulkId(0), '600000'], { prefix: unshare })
      await contained.waitFor('inside')
      contained.child.kill('SIGKILL')
      await contained.exit
      const store = fileKeyStore(path, { watch: false, lockTimeoutMs: 5000, staleLockMs: 600_000 })
      const { record } = await createApiKey(store, { owner: 'after', scopes: ['a:b'] })
      expect((await finalRecords()).has(record.id)).toBe(true)
      expect((await readdir(tmp.dir)).sort()).toEqual(['keys.json'])
    },
    60_000,
  )

  it('keeps a revoke on a large, slow store and a create that comes while it writes (30 000 keys)', async () => {
    await writeBulkStore(path, 30_000)
    const revoke = startWorker(['revoke', path, bulkId(7)], { store: impatient, waitForGo: true })
    const create = startWorker(['create', path, 'late'], { store: impatient, waitForGo: true })
    await Promise.all([revoke.waitFor('ready'), create.waitFor('ready')])
    revoke.go()
    while (!existsSync(`${path}.lock`) && revoke.child.exitCode === null) await sleep(2)
    await sleep(100) // past staleLockMs while the revoke still parses and writes
    create.go()
    expect(await revoke.exit).toBe(0)
    expect(await create.exit).toBe(0)
    expect(
      await expectConfirmedWritesKept([
        { worker: revoke, op: 'revoke', id: bulkId(7) },
        { worker: create, op: 'create' },
      ]),
    ).toBe(2)
    expect((await finalRecords()).size).toBe(30_001)
  }, 120_000)

  it('keeps every confirmed write of 20 writer processes started at once (12 creates, 8 revokes)', async () => {
    await writeBulkStore(path, 8)
    const writes = [
      ...Array.from({ length: 12 }, (_, i) => ({
        worker: startWorker(['create', path, `writer-${i}`], { store: impatient, waitForGo: true }),
        op: 'create' as const,
      })),
      ...Array.from({ length: 8 }, (_, i) => ({
        worker: startWorker(['revoke', path, bulkId(i)], { store: impatient, waitForGo: true }),
        op: 'revoke' as const,
        id: bulkId(i),
      })),
    ]
    await Promise.all(writes.map(({ worker }) => worker.waitFor('ready')))
    for (const { worker } of writes) worker.go()
    const codes = await Promise.all(writes.map(({ worker }) => worker.exit))
    expect(codes, writes.map(({ worker }) => worker.stderr()).join('')).toEqual(writes.map(() => 0))
    expect(await expectConfirmedWritesKept(writes)).toBe(20)
    expect((await readdir(tmp.dir)).sort()).toEqual(['keys.json'])
  }, 180_000)

  it('breaks the lock of a writer killed (SIGKILL) while holding it; the next write removes the temporary files and sockets of killed writers', async () => {
    await writeBulkStore(path, 1)
    const held = startWorker(['hold', path, bulkId(0), '600000'])
    await held.waitFor('inside')
    const waiting = startWorker(['create', path, 'waiting'], { store: impatient })
    await vi.waitFor(
      async () => expect((await readdir(tmp.dir)).filter((name) => name.endsWith('.sock'))).toHaveLength(2),
      { timeout: 30_000 }, // the waiting process must start first: slow on a loaded machine
    )
    waiting.child.kill('SIGKILL')
    held.child.kill('SIGKILL')
    await Promise.all([held.exit, waiting.exit])
    // a lock temporary file, as a writer killed between writing it and linking it leaves one
    await writeFile(`${path}.lock.${randomUUID()}.tmp`, '{"pid":1,"token":"1:x"}')
    // what the killed waiter left (its socket, perhaps a lock temporary file), made old enough to be
    // judged: a fresh one may belong to a live writer about to use it
    for (const name of await readdir(tmp.dir)) {
      if (name.startsWith('keys.json.lock.')) await utimes(tmp.file(name), new Date(0), new Date(0))
    }
    // what a writer killed between its temporary file and the rename leaves: a full copy of the store
    const leftover = `${path}.${held.child.pid}.0a1b2c3d4e5f.tmp`
    await writeFile(leftover, await readFile(path, 'utf8'))
    await writeFile(tmp.file('other.json.123.abc.tmp'), 'not ours')
    const store = fileKeyStore(path, { watch: false, lockTimeoutMs: 5000, staleLockMs: 600_000 })
    await createApiKey(store, { owner: 'after', scopes: ['a:b'] })
    expect((await readdir(tmp.dir)).sort()).toEqual(['keys.json', 'other.json.123.abc.tmp'])
  }, 60_000)
})

describe('fileKeyStore lock files it cannot judge', () => {
  it('never breaks a lock from another machine, however old, and says why', async () => {
    const lock = `${path}.lock`
    await writeFile(
      lock,
      JSON.stringify({
        pid: 7,
        token: '7:x',
        host: 'elsewhere',
        machine: 'another-boot-id',
        socket: 'keys.json.lock.aa.sock',
      }),
    )
    await utimes(lock, new Date(0), new Date(0))
    const store = fileKeyStore(path, { watch: false, lockTimeoutMs: 200, staleLockMs: 50 })
    const error = await createApiKey(store, { owner: 'a', scopes: ['a:b'] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KeyStoreError)
    expect((error as KeyStoreError).code).toBe('ERR_KEY_STORE_LOCKED')
    expect((error as Error).message).toMatch(/process 7 on elsewhere, another machine/)
    expect(await readFile(lock, 'utf8')).toContain('another-boot-id')
  })

  it('breaks a lock written by an older release (no socket) once it is older than staleLockMs', async () => {
    const lock = `${path}.lock`
    await writeFile(lock, JSON.stringify({ pid: process.pid, token: 'old', at: new Date(0).toISOString() }))
    await utimes(lock, new Date(0), new Date(0))
    const store = fileKeyStore(path, { watch: false, lockTimeoutMs: 2000, staleLockMs: 1000 })
    await createApiKey(store, { owner: 'a', scopes: ['a:b'] })
    expect((await readdir(tmp.dir)).sort()).toEqual(['keys.json'])
  })

  it('refuses to write when the file changed under the lock (a writer that ignored it), with ERR_KEY_STORE_CONFLICT', async () => {
    const store = fileKeyStore(path, { watch: false })
    const { record } = await createApiKey(store, { owner: 'first', scopes: ['a:b'] })
    const error = await store
      .update(record.id, (current) => {
        // another program writes the file while this update holds the lock
        writeFileSync(path, `${JSON.stringify({ version: 1, keys: [] })}\n`)
        return { ...current, labels: { x: 'y' } }
      })
      .catch((e: unknown) => e)
    expect((error as KeyStoreError).code).toBe('ERR_KEY_STORE_CONFLICT')
    expect(JSON.parse(await readFile(path, 'utf8')).keys).toEqual([])
    expect((await readdir(tmp.dir)).sort()).toEqual(['keys.json'])
  })
})
