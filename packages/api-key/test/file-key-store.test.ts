import { constants } from 'node:buffer'
import { appendFileSync } from 'node:fs'
import { mkdir, readdir, readFile, rename, stat, truncate, writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { ConfigError } from '@callsign/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  type ApiKeyRecord,
  createApiKey,
  type FileKeyStore,
  fileKeyStore,
  KeyStoreError,
} from '../src/index.js'
import { serializeStore } from '../src/lib/store-file-format.js'
import { activeRecord, bulkId, bulkRecords, revokedRecord, writeBulkStore } from './support/bulk-store.js'
import { tempDir } from './support.js'

let tmp: Awaited<ReturnType<typeof tempDir>>
const stores: FileKeyStore[] = []
const open = (...args: Parameters<typeof fileKeyStore>) => {
  const store = fileKeyStore(...args)
  stores.push(store)
  return store
}
beforeEach(async () => {
  tmp = await tempDir()
})
afterEach(async () => {
  for (const store of stores.splice(0)) store.close()
  await tmp.remove()
})

describe('fileKeyStore', () => {
  it('stores only the hash of the secret, never the key, in a version 1 file with mode 0600', async () => {
    const path = tmp.file('keys.json')
    const store = open(path, { watch: false })
    const { key, record } = await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })
    const text = await readFile(path, 'utf8')
    expect(text).not.toContain(key)
    expect(text).not.toContain(key.slice(17, 60))
    const file = JSON.parse(text)
    expect(file.version).toBe(1)
    expect(file.keys).toEqual([record])
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await store.find(record.id)).toEqual(record)
    expect(await open(path, { watch: false }).list()).toEqual([record])
  })

  it('treats a missing file as an empty store and creates it (and its folder) on the first write', async () => {
    const path = tmp.file('deep/er/keys.json')
    const store = open(path, { watch: false })
    expect(await store.list()).toEqual([])
    await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })
    expect(JSON.parse(await readFile(path, 'utf8')).keys).toHaveLength(1)
  })

  it.each([
    ['not JSON', '{"version": 1, "keys": [', /not valid JSON/],
    ['another version', '{"version": 2, "keys": []}', /version 2/],
    ['no keys list', '{"version": 1}', /"keys"/],
    [
      'a record without a hash',
      '{"version": 1, "keys": [{"id": "AAAAAAAAAAAA", "owner": "a"}]}',
      /AAAAAAAAAAAA/,
    ],
  ])(
    'throws a ConfigError naming the file at startup for a store that is %s',
    async (_case, text, message) => {
      const path = tmp.file('keys.json')
      await writeFile(path, text)
      expect(() => fileKeyStore(path)).toThrow(ConfigError)
      expect(() => fileKeyStore(path)).toThrow(message)
      expect(() => fileKeyStore(path)).toThrow(path)
    },
  )

  it('throws a ConfigError at startup for an unreadable store (a folder in its place)', async () => {
    const path = tmp.file('keys.json')
    await mkdir(path)
    expect(() => fileKeyStore(path)).toThrow(/cannot read the key store/)
  })

  it('refuses to overwrite a store that became corrupt, with ERR_KEY_STORE_IO', async () => {
    const path = tmp.file('keys.json')
    const store = open(path, { watch: false })
    await writeFile(path, 'garbage')
    await expect(createApiKey(store, { owner: 'a', scopes: ['x:y'] })).rejects.toMatchObject({
      code: 'ERR_KEY_STORE_IO',
    })
    expect(await readFile(path, 'utf8')).toBe('garbage')
  })

  it('sees a key created by another writer, through the watcher, and notifies onChange', async () => {
    const path = tmp.file('keys.json')
    const service = open(path)
    const changed = vi.fn()
    service.onChange(changed)
    const { record } = await createApiKey(open(path, { watch: false }), { owner: 'billing', scopes: ['a:b'] })
    await vi.waitFor(async () => expect(await service.find(record.id)).toEqual(record), { timeout: 3000 })
    expect(changed).toHaveBeenCalled()
  })

  it('sees a revoke within a bound while a file beside the store is written every few ms (an audit log), and reloads only for its own file', async () => {
    const path = tmp.file('keys.json')
    const writer = open(path, { watch: false })
    const { record } = await createApiKey(writer, { owner: 'billing', scopes: ['a:b'] })
    const reloads = vi.fn()
    const service = open(path, { onReload: reloads })
    const changes: (readonly string[] | undefined)[] = []
    service.onChange((ids) => changes.push(ids))
    const audit = tmp.file('audit.jsonl')
    let lines = 0
    const busy = setInterval(() => appendFileSync(audit, `{"line":${lines++}}\n`), 2)
    try {
      await sleep(600) // past the 500 ms poll, with the audit file written all along
      expect(reloads).not.toHaveBeenCalled()
      await writer.revoke(record.id)
      await vi.waitFor(async () => expect((await service.find(record.id))?.state).toBe('revoked'), {
        timeout: 2000,
        interval: 5,
      })
      expect(changes).toEqual([[record.id]])
    } finally {
      clearInterval(busy)
    }
    expect(lines).toBeGreaterThan(50)
  })

  describe('a reload costs what changed', () => {
    const HASH = `sha256:${'ab'.repeat(32)}`
    /** Replaces the store file as a writer does: a whole new file, renamed into place. */
    const replaceFile = async (path: string, records: readonly ApiKeyRecord[]) => {
      await writeFile(`${path}.next`, serializeStore(records), { mode: 0o600 })
      await rename(`${path}.next`, path)
    }
    /** How many entries with a bulk id were set into any Map while `work` ran. */
    const bulkSetsDuring = async (work: () => Promise<void>) => {
      const set = vi.spyOn(Map.prototype, 'set')
      try {
        await work()
        return set.mock.calls.filter(([id]) => typeof id === 'string' && id.startsWith('Bulk')).length
      } finally {
        set.mockRestore()
      }
    }
    /** A watching store on `path`, and the ids of each change it notified. */
    const watching = (path: string) => {
      const service = open(path)
      const changes: (readonly string[] | undefined)[] = []
      service.onChange((ids) => changes.push(ids))
      return { service, changes }
    }

    it("sets only the records another writer changed or appended into the map it serves: no map of the whole store is built, the others stay the same objects, in the file's order", async () => {
      const path = tmp.file('keys.json')
      const records = bulkRecords(3000)
      await replaceFile(path, records)
      const { service, changes } = watching(path)
      const kept = await service.find(bulkId(1))
      const next = [...records, activeRecord(bulkId(3000), HASH)]
      next[7] = revokedRecord(records[7]!)
      const sets = await bulkSetsDuring(async () => {
        await replaceFile(path, next)
        await vi.waitFor(() => expect(changes).toHaveLength(1), { timeout: 5000 })
      })
      expect(sets).toBe(2)
      expect(changes).toEqual([[bulkId(7), bulkId(3000)]])
      expect((await service.find(bulkId(7)))?.state).toBe('revoked')
      expect(await service.find(bulkId(3000))).toEqual(next[3000])
      expect(await service.find(bulkId(1))).toBe(kept)
      expect((await service.list()).map((record) => record.id)).toEqual(next.map((record) => record.id))
    })

    it('sees each of many changes by another writer in turn, the file growing past the buffers it is read into', async () => {
      const path = tmp.file('keys.json')
      let records = bulkRecords(20)
      await replaceFile(path, records)
      const { service, changes } = watching(path)
      // Each reload compares the file with the one before, read into the other of two buffers: a
      // read into the buffer holding the one before would find nothing changed.
      for (let k = 0; k < 6; k++) {
        records = records.map((record, i) => (i === k ? revokedRecord(record) : record))
        await replaceFile(path, records)
        await vi.waitFor(() => expect(changes).toHaveLength(k + 1), { timeout: 5000 })
        expect(changes[k]).toEqual([bulkId(k)])
        expect((await service.find(bulkId(k)))?.state).toBe('revoked')
      }
      // 20 records are some 10 kB, and the buffers 64 kB; 500 more outgrow them
      records = [...records, ...bulkRecords(520).slice(20)]
      await replaceFile(path, records)
      await vi.waitFor(() => expect(changes).toHaveLength(7), { timeout: 5000 })
      expect(changes[6]).toHaveLength(500)
      expect((await service.list()).map((record) => record.id)).toEqual(records.map((record) => record.id))
      records = records.map((record, i) => (i === 519 ? { ...record, scopes: ['orders:write'] } : record))
      await replaceFile(path, records)
      await vi.waitFor(() => expect(changes).toHaveLength(8), { timeout: 5000 })
      expect(changes[7]).toEqual([bulkId(519)])
      expect((await service.find(bulkId(519)))?.scopes).toEqual(['orders:write'])
    })

    it("after its own write, reads the file it wrote and another writer's next change as what changed: no map of the whole store is built", async () => {
      const path = tmp.file('keys.json')
      await replaceFile(path, bulkRecords(3000))
      const { service, changes } = watching(path)
      const sets = await bulkSetsDuring(async () => {
        await service.revoke(bulkId(5))
        await sleep(300) // the watcher sees the service's own write
        const next = (await service.list()).map((record) =>
          record.id === bulkId(9) ? revokedRecord(record) : record,
        )
        await replaceFile(path, next)
        await vi.waitFor(() => expect(changes).toHaveLength(2), { timeout: 5000 })
      })
      // The write copies the map it changes (3 000 sets, and the revoked record), the other writer's
      // change is one more; reading either file into a new map would be 3 000 more.
      expect(sets).toBeLessThanOrEqual(3002)
      expect(changes).toEqual([[bulkId(5)], [bulkId(9)]])
      expect((await service.find(bulkId(5)))?.state).toBe('revoked')
      expect((await service.find(bulkId(9)))?.state).toBe('revoked')
    })

    it("reads a file whose records moved (edited by hand) into a new map, in the file's order, and sets the next change in place again", async () => {
      const path = tmp.file('keys.json')
      const records = bulkRecords(50)
      await replaceFile(path, records)
      let reloads = 0
      const service = open(path, {
        onReload: () => {
          reloads++
        },
      })
      const moved = [...records].reverse()
      await replaceFile(path, moved)
      await vi.waitFor(() => expect(reloads).toBe(1), { timeout: 5000 })
      expect((await service.list()).map((record) => record.id)).toEqual(moved.map((record) => record.id))
      const next = [...moved]
      next[3] = revokedRecord(moved[3]!)
      const sets = await bulkSetsDuring(async () => {
        await replaceFile(path, next)
        await vi.waitFor(() => expect(reloads).toBe(2), { timeout: 5000 })
      })
      expect(sets).toBe(1)
      expect((await service.find(next[3]!.id))?.state).toBe('revoked')
      expect((await service.list()).map((record) => record.id)).toEqual(next.map((record) => record.id))
    })
  })

  it('keeps the last good records and reports the problem when a reload finds a corrupt file', async () => {
    const path = tmp.file('keys.json')
    const writer = open(path, { watch: false })
    const { record } = await createApiKey(writer, { owner: 'billing', scopes: ['a:b'] })
    const errors: ConfigError[] = []
    const service = open(path, { onError: (error) => errors.push(error) })
    await writeFile(path, '{"version": 1, "keys": [ oops')
    await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 3000 })
    expect(errors[0]).toBeInstanceOf(ConfigError)
    expect(errors[0]!.message).toContain(path)
    expect(await service.find(record.id)).toEqual(record)
    expect(service.reload()).toBe(false)
  })

  it('by default warns once through the logger of a failed reload, and says so in health() until a good one', async () => {
    const path = tmp.file('keys.json')
    let now = Date.parse('2026-01-01T00:00:00Z')
    const warnings: unknown[][] = []
    const store = open(path, {
      watch: false,
      logger: { warn: (...args: unknown[]) => warnings.push(args) },
      clock: { now: () => now },
    })
    await createApiKey(store, { owner: 'billing', scopes: ['a:b'] })
    const good = await readFile(path, 'utf8')
    expect(store.health()).toEqual({
      status: 'ok',
      keys: 1,
      loadedAt: '2026-01-01T00:00:00.000Z',
      lastReloadError: null,
    })

    now += 60_000
    await writeFile(path, '{"version": 1, "keys": [ oops')
    expect(store.reload()).toBe(false)
    expect(warnings).toEqual([
      [
        { code: 'CALLSIGN_KEY_STORE_RELOAD' },
        expect.stringMatching(/^key store .*keys\.json is not valid JSON.*; keeping the last good keys$/),
      ],
    ])
    const degraded = store.health()
    expect(Object.keys(degraded)).toEqual(['status', 'keys', 'loadedAt', 'lastReloadError'])
    expect(degraded).toEqual({
      status: 'degraded',
      keys: 1,
      loadedAt: '2026-01-01T00:00:00.000Z',
      lastReloadError: { at: '2026-01-01T00:01:00.000Z', error: 'invalid_store_file' },
    })

    now += 60_000
    await writeFile(path, good)
    expect(store.reload()).toBe(true)
    expect(store.health()).toEqual({
      status: 'ok',
      keys: 1,
      loadedAt: '2026-01-01T00:02:00.000Z',
      lastReloadError: null,
    })
    expect(warnings).toHaveLength(1)
  })

  it('loses no record when 20 writers on two store objects create keys at once', async () => {
    const path = tmp.file('keys.json')
    const a = open(path, { watch: false })
    const b = open(path, { watch: false })
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        createApiKey(i % 2 ? a : b, { owner: `svc${i}`, scopes: ['a:b'] }),
      ),
    )
    const ids = (await open(path, { watch: false }).list()).map((record) => record.id).sort()
    expect(ids).toEqual(created.map(({ record }) => record.id).sort())
    expect((await readdir(tmp.dir)).sort()).toEqual(['keys.json'])
  })

  it('breaks an empty lock file at once: locks are created whole, so an empty one is debris', async () => {
    const path = tmp.file('keys.json')
    await writeFile(`${path}.lock`, '')
    const store = open(path, { watch: false, lockTimeoutMs: 200, staleLockMs: 60_000 })
    await createApiKey(store, { owner: 'after-crash', scopes: ['a:b'] })
    expect((await store.list()).map((record) => record.owner)).toEqual(['after-crash'])
    expect((await readdir(tmp.dir)).sort()).toEqual(['keys.json'])
  })

  it('waits for a live lock and gives up with ERR_KEY_STORE_LOCKED after lockTimeoutMs', async () => {
    const path = tmp.file('keys.json')
    await writeFile(
      `${path}.lock`,
      JSON.stringify({ pid: process.pid, token: 'held', at: new Date().toISOString() }),
    )
    const store = open(path, { watch: false, lockTimeoutMs: 100 })
    const error = await createApiKey(store, { owner: 'a', scopes: ['a:b'] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KeyStoreError)
    expect((error as KeyStoreError).code).toBe('ERR_KEY_STORE_LOCKED')
    expect(await readFile(`${path}.lock`, 'utf8')).toContain('held')
  })

  it('revokes at once: the record says revoked with revokedAt, and listeners hear of it', async () => {
    const store = open(tmp.file('keys.json'), { watch: false })
    const { record } = await createApiKey(store, { owner: 'a', scopes: ['a:b'] })
    const changed = vi.fn()
    store.onChange(changed)
    const revoked = await store.revoke(record.id)
    expect(revoked.state).toBe('revoked')
    expect(revoked.revokedAt).not.toBeNull()
    expect((await store.find(record.id))?.state).toBe('revoked')
    expect(changed).toHaveBeenCalledTimes(1)
  })

  it('rejects an unknown id with ERR_KEY_NOT_FOUND and an invalid record with ERR_INVALID_KEY_RECORD', async () => {
    const store = open(tmp.file('keys.json'), { watch: false })
    await expect(store.revoke('AAAAAAAAAAAA')).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' })
    const { record } = await createApiKey(store, { owner: 'a', scopes: ['a:b'] })
    await expect(store.update(record.id, (r) => ({ ...r, scopes: ['bad scope!'] }))).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY_RECORD',
    })
    await expect(store.create(record)).rejects.toMatchObject({ code: 'ERR_KEY_EXISTS' })
  })

  it('parses the file once per write: not again under the lock when it is the file it loaded; when another writer changed it, only the records that changed', async () => {
    const path = tmp.file('keys.json')
    await writeBulkStore(path, 50)
    const parse = vi.spyOn(JSON, 'parse')
    // Records of the store's text, not the (small) lock files the write also reads.
    const recordParses = () =>
      parse.mock.calls.filter(([text]) => String(text).includes('"secretHash"')).length
    try {
      const store = open(path, { watch: false }) // a CLI write opens the store like this
      expect(recordParses()).toBe(50)
      parse.mockClear()
      const { record } = await createApiKey(store, { owner: 'one', scopes: ['a:b'] })
      await store.revoke(bulkId(1))
      expect(recordParses()).toBe(0)
      await open(path, { watch: false }).revoke(bulkId(2)) // another writer
      parse.mockClear()
      await store.revoke(bulkId(3))
      // read again, and only what changed since this store parsed the file: two revokes and a create
      expect(recordParses()).toBe(3)
      const file = JSON.parse(await readFile(path, 'utf8')) as { keys: { id: string; state: string }[] }
      expect(file.keys).toHaveLength(51)
      expect(file.keys.find((k) => k.id === record.id)?.state).toBe('active')
      expect(file.keys.filter((k) => k.state === 'revoked').map((k) => k.id)).toEqual([
        bulkId(1),
        bulkId(2),
        bulkId(3),
      ])
    } finally {
      parse.mockRestore()
    }
  })

  it('refuses a store file too large to read as one string, naming maxKeys and @callsign/store-postgres: at startup, on a write and on a reload', async () => {
    const path = tmp.file('keys.json')
    await writeBulkStore(path, 3)
    const errors: ConfigError[] = []
    const watching = open(path, { onError: (error) => errors.push(error) })
    const writer = open(path, { watch: false })
    // One byte past the longest string Node.js makes, as a sparse file: nothing that large is written.
    await truncate(path, constants.MAX_STRING_LENGTH + 1)
    const message =
      /bytes, more than a file store can read.*maxKeys.*PostgreSQL store \(@callsign\/store-postgres\)/
    expect(() => fileKeyStore(path, { watch: false })).toThrow(ConfigError)
    expect(() => fileKeyStore(path, { watch: false })).toThrow(message)
    await expect(writer.revoke(bulkId(0))).rejects.toMatchObject({
      code: 'ERR_KEY_STORE_FULL',
      message: expect.stringMatching(message),
    })
    await vi.waitFor(() => expect(errors[0]?.message).toMatch(message), { timeout: 30_000 }) // the watcher's reload
    expect(watching.reload()).toBe(false)
    expect(errors.at(-1)?.message).toMatch(message)
    expect(errors.map((error) => error.message).join()).not.toMatch(
      /ERR_STRING_TOO_LONG|Invalid string length/,
    )
    expect(await watching.list()).toHaveLength(3) // the last good records stay
  })

  it('refuses a create beyond maxKeys with ERR_KEY_STORE_FULL naming the database-backed store, and still revokes', async () => {
    const path = tmp.file('keys.json')
    await writeBulkStore(path, 10)
    const store = open(path, { watch: false, maxKeys: 10 })
    const error = await createApiKey(store, { owner: 'one-too-many', scopes: ['a:b'] }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(KeyStoreError)
    expect((error as KeyStoreError).code).toBe('ERR_KEY_STORE_FULL')
    expect((error as Error).message).toMatch(/holds 10 keys.*nothing was written.*PostgreSQL/)
    expect((await store.revoke(bulkId(3))).state).toBe('revoked')
    expect(JSON.parse(await readFile(path, 'utf8')).keys).toHaveLength(10)
    expect(() => fileKeyStore(path, { maxKeys: 0 })).toThrow(/maxKeys/)
  })
})
