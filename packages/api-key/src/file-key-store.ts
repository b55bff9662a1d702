import { constants } from 'node:buffer'
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs'
import { mkdir, open, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { type Clock, ConfigError, type Logger, systemClock } from '@callsign/core'
import { checkLogger, reloadReport, watchFiles, writeFileAtomic } from '@callsign/core/adapter'
import type { ApiKeyRecord, KeyStore, KeyStoreHealth } from './api-key-record.js'
import { checkKeyRecord } from './check-key-record.js'
import { KeyStoreError } from './key-store-error.js'
import { changedIds, changedIdsInSlices, changedIdsOf } from './lib/changed-ids.js'
import { errorCode, removeLockDebris, withFileLock } from './lib/file-lock.js'
import {
  changesInSlices,
  type ParsedStore,
  parseStoreBytes,
  parseStoreInSlices,
  type StoreChanges,
  writtenStore,
} from './lib/parse-store-in-slices.js'
import { type ReadBuffers, readBuffers } from './lib/read-buffers.js'
import { removeStaleTemporaryFiles } from './lib/remove-stale-temporary-files.js'
import { serializeStore } from './lib/store-file-format.js'

/** The largest store file that can be read: the longest string Node.js can make (about 512 MiB). */
const MAX_STORE_FILE_BYTES = constants.MAX_STRING_LENGTH

export interface FileKeyStoreOptions {
  /** Reload when the file changes (another process wrote it). Default `true`. */
  readonly watch?: boolean
  /** Called after a good reload. */
  readonly onReload?: () => void
  /** Called when a changed file cannot be read or is invalid; the last good records stay. Default: a warning. */
  readonly onError?: (error: ConfigError) => void
  /** Where the default `onError` writes: a pino-compatible logger. Default: a process warning. */
  readonly logger?: Logger
  /** How long a write waits for another writer's lock. Default 10 000 ms. */
  readonly lockTimeoutMs?: number
  /**
   * Only for a lock file written by an older release (one without a liveness socket): broken once
   * older than this. A current writer's lock is never broken while its process lives. Default 10 000 ms.
   */
  readonly staleLockMs?: number
  /**
   * The most keys the file may hold: a create beyond it is refused (`ERR_KEY_STORE_FULL`); revoking
   * and updating still work. Every change rewrites and every service re-reads the whole file, so the
   * file store is meant for up to 100 000 keys; past that, use a database-backed store. Default 100 000.
   */
  readonly maxKeys?: number
  /** Time source for `revokedAt`. */
  readonly clock?: Clock
}

/** A {@link KeyStore} backed by one JSON file. */
export interface FileKeyStore extends KeyStore {
  readonly path: string
  findLocal(id: string): ApiKeyRecord | undefined | Promise<ApiKeyRecord | undefined>
  onChange(listener: (changedIds?: readonly string[]) => void): () => void
  /** Re-reads the file now; false (and the last good records kept) when it is unreadable or invalid. */
  reload(): boolean
  health(): KeyStoreHealth
  /** Stops watching the file. */
  close(): void
}

/**
 * The embedded key store: one JSON file, `{ "version": 1, "keys": [...] }`, mode 0600, holding
 * records with hashed secrets only. Writes take a cross-process lock (`<file>.lock`) that is never
 * taken from a live holder, re-read the file under it, and replace it atomically (temporary file,
 * fsync, rename) after checking that the lock and the file are still as read: a write that
 * resolved is never lost or undone by another writer, and one that cannot get the lock in time
 * fails with `ERR_KEY_STORE_LOCKED`. The file is watched: a change by another process is seen
 * within about 50 ms, and a reload notifies the ids whose records changed. A missing file is an
 * empty store; a corrupt or unreadable one throws a `ConfigError` here, at startup, and at a later
 * reload keeps the last good records.
 *
 * @example
 * const store = fileKeyStore('/etc/orders/keys.json')
 * const verifier = apiKeyVerifier({ store })
 */
export function fileKeyStore(path: string, options: FileKeyStoreOptions = {}): FileKeyStore {
  if (typeof path !== 'string' || path.length === 0) throw new ConfigError('fileKeyStore: "path" is required')
  const file = resolve(path)
  const lockOptions = {
    timeoutMs: positive(options.lockTimeoutMs, 10_000, 'lockTimeoutMs'),
    legacyStaleMs: positive(options.staleLockMs, 10_000, 'staleLockMs'),
  }
  const maxKeys = options.maxKeys ?? 100_000
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
    throw new ConfigError('fileKeyStore: "maxKeys" must be a positive integer')
  }
  const clock = options.clock ?? systemClock
  const logger = checkLogger(options.logger, 'fileKeyStore')
  // The watcher's loads read the file into these, in turn (the first load too): see readBuffers.
  const buffers = options.watch === false ? undefined : readBuffers()
  const initial = loadSync(file, true, undefined, buffers)
  // Reported as every file-backed part reports, though its loads do not fit `reloadableFile`: its own
  // writes replace the records outside any load, a stale load is dropped, and the watcher's loads are
  // parsed in slices and coalesced.
  const report = reloadReport({
    onError: options.onError,
    warning: { code: 'CALLSIGN_KEY_STORE_RELOAD', keeping: 'the last good keys' },
    logger,
    errorCode: 'invalid_store_file',
    telemetry: { meter: '@callsign/api-key', part: 'key_store', file },
    clock,
  })
  const reloaded = () => {
    report.succeeded()
    options.onReload?.()
  }
  const reloadFailed = report.failed
  let records = initial?.records ?? new Map<string, ApiKeyRecord>()
  /** The identity of the file last read (good or not), so that an unchanged file is not read again. */
  let seen = initial?.identity ?? 'missing'
  /** The identity of the file that `records` came from: a write finding the file still so uses them as they are. */
  let recordsFrom = seen
  /** The file last parsed, whose unchanged records the next reload takes as they are. */
  let lastParsed = initial?.parsed
  const listeners = new Set<(changedIds?: readonly string[]) => void>()
  // Loads are numbered when they start; one that finishes after a later one was adopted is stale.
  let loads = 0
  let adopted = 0
  /** Takes the records of load `load`, unless a later load's are in place; tells the listeners which ids changed. */
  const adopt = (
    load: number,
    next: Map<string, ApiKeyRecord>,
    identity: string,
    changed: readonly string[],
  ) => {
    if (load < adopted) return false
    adopted = load
    seen = identity
    recordsFrom = identity
    records = next
    if (changed.length === 0) return true
    for (const listener of listeners) {
      try {
        listener(changed)
      } catch {
        // a listener must not break the store
      }
    }
    return true
  }
  /**
   * Sets the records that changed in load `load` into the live map, in place and in one turn, when
   * that map is still the one the load compared with; tells the listeners which ids changed.
   */
  const adoptChanges = (load: number, changes: StoreChanges, identity: string) => {
    if (load < adopted || changes.parsed.records !== records) return false
    const changed = changedIdsOf(records, changes.changed)
    for (const record of changes.changed) records.set(record.id, record)
    lastParsed = changes.parsed
    return adopt(load, records, identity, changed)
  }

  const reload = (): boolean => {
    const load = ++loads
    try {
      const next = loadSync(file, false, lastParsed)
      if (next === undefined) throw new ConfigError(`key store ${file} is missing`)
      lastParsed = next.parsed
      adopt(load, next.records, next.identity, changedIds(records, next.records))
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      seen = currentIdentity(file)
      reloadFailed(error)
      return false
    }
    reloaded()
    return true
  }

  /**
   * The watcher's reload: the file read asynchronously, parsed and compared a slice at a time, so a
   * large store never holds up requests for long. When the file is the one last read with records
   * changed in place or appended (another process's write), only those records are set into the
   * live map; otherwise (a file edited by hand, a bulk change of over 1 000 records) a new map
   * is built and compared. The file is read into one of `buffers`, never into a new one. One at a
   * time; a call during it runs it again once it is done, and gets the promise of both.
   */
  let reloading: Promise<void> | undefined
  let again = false
  const reloadInBackground = (): Promise<void> => {
    if (reloading) {
      again = true
      return reloading
    }
    reloading = backgroundLoads()
    return reloading
  }
  const backgroundLoads = async (): Promise<void> => {
    try {
      do {
        again = false
        const load = ++loads
        let loaded: Awaited<ReturnType<typeof loadInSlices>>
        try {
          loaded = await loadInSlices(file, lastParsed, records, buffers)
          if ('parsed' in loaded) lastParsed = loaded.parsed
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error
          if (load > adopted) {
            seen = currentIdentity(file)
            reloadFailed(error)
          }
          continue
        }
        const taken =
          'changes' in loaded
            ? adoptChanges(load, loaded.changes, loaded.identity)
            : adopt(
                load,
                loaded.parsed.records,
                loaded.identity,
                await changedIdsInSlices(records, loaded.parsed.records),
              )
        if (taken) reloaded()
      } while (again)
    } finally {
      reloading = undefined
    }
  }

  /**
   * The record in memory, at once. For an id not there when the file changed on disk since it was
   * read (a key just created by another process), a promise: the background reload, then the record.
   */
  const findLocal = (id: string): ApiKeyRecord | undefined | Promise<ApiKeyRecord | undefined> => {
    const record = records.get(id)
    if (record !== undefined || currentIdentity(file) === seen) return record
    return reloadInBackground().then(() => records.get(id))
  }
  const watcher =
    options.watch === false
      ? undefined
      : // 10 ms after the first event: a check that finds the file unchanged costs one stat, and a
        // write is one rename, so there is no burst to wait out; a revocation is seen sooner.
        watchFiles([file], () => void reloadInBackground().catch(() => {}), { debounceMs: 10 })

  // One write at a time in this process; the lock file orders writers across processes.
  let queue: Promise<unknown> = Promise.resolve()
  const mutate = <T>(change: (fresh: Map<string, ApiKeyRecord>) => T): Promise<T> => {
    const run = async () => {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 })
      return withFileLock(`${file}.lock`, lockOptions, async (lock) => {
        // Under the lock, the file as it is now: the records in memory when they came from this very
        // file (the usual case, and a CLI write's: it parsed the file when it opened the store), else
        // read and parsed again. Either way one parse per write.
        const now = await fileIdentity(file).catch(() => undefined)
        const { records: fresh, identity } =
          now === recordsFrom
            ? { records: new Map(records), identity: now }
            : await loadFresh(file, () => lastParsed)
        const result = change(fresh)
        const text = serialize(file, fresh)
        // Mode 0600; readers see the old file or the new, never a mix.
        const written = await writeFileAtomic(file, text, {
          async beforeRename() {
            // The last checks before the rename: the lock is still ours, and nobody wrote the file
            // since it was read (a writer that ignored the lock): a stale view never overwrites.
            await lock.verify()
            if ((await fileIdentity(file)) !== identity) {
              throw new KeyStoreError(
                'ERR_KEY_STORE_CONFLICT',
                `the key store ${file} was changed by a writer that did not hold its lock; nothing was written`,
              )
            }
          },
        }).catch((cause: unknown) => {
          if (cause instanceof KeyStoreError) throw cause
          throw new KeyStoreError('ERR_KEY_STORE_IO', `cannot write the key store ${file}`, { cause })
        })
        await removeStaleTemporaryFiles(file)
        await removeLockDebris(`${file}.lock`)
        adopt(++loads, fresh, identityOf(written), changedIds(records, fresh))
        // A watching store compares its next reload with the file it wrote, so that another
        // writer's change after this one is read as what changed, not as a whole new file.
        if (buffers) lastParsed = writtenStore(fresh, text)
        return result
      })
    }
    const next = queue.then(run, run)
    queue = next.catch(() => {})
    return next
  }
  const existing = (map: Map<string, ApiKeyRecord>, id: string) => {
    const record = map.get(id)
    if (!record) throw new KeyStoreError('ERR_KEY_NOT_FOUND', `no key with id "${printable(id)}"`)
    return record
  }

  return {
    path: file,
    health() {
      const { status, loadedAt, lastReloadError } = report.health()
      return { status, keys: records.size, loadedAt, lastReloadError }
    },
    async find(id) {
      return findLocal(id)
    },
    findLocal,
    async list() {
      return [...records.values()]
    },
    async create(input) {
      const record = checkKeyRecord(input)
      return mutate((fresh) => {
        if (fresh.has(record.id))
          throw new KeyStoreError('ERR_KEY_EXISTS', `a key with id "${record.id}" exists`)
        if (fresh.size >= maxKeys) {
          throw new KeyStoreError(
            'ERR_KEY_STORE_FULL',
            `the key store ${file} holds ${fresh.size} keys, the most this file store takes (maxKeys); ` +
              'nothing was written. Revoking keys still works; for more keys use a ' +
              'database-backed store (the PostgreSQL store, @callsign/store-postgres) instead of a file',
          )
        }
        fresh.set(record.id, record)
        return record
      })
    },
    update(id, change) {
      return mutate((fresh) => {
        const record = checkKeyRecord(change(existing(fresh, id)))
        if (record.id !== id)
          throw new KeyStoreError('ERR_INVALID_KEY_RECORD', 'an update cannot change a key id')
        fresh.set(id, record)
        return record
      })
    },
    revoke(id) {
      return mutate((fresh) => {
        const record = existing(fresh, id)
        if (record.state === 'revoked') return record
        const revoked = Object.freeze({
          ...record,
          state: 'revoked' as const,
          revokedAt: new Date(clock.now()).toISOString(),
        })
        fresh.set(id, revoked)
        return revoked
      })
    },
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    reload,
    close() {
      watcher?.close()
      listeners.clear()
    },
  }
}

function loadSync(
  file: string,
  missingIsEmpty: boolean,
  previous?: ParsedStore,
  buffers?: ReadBuffers,
): { records: Map<string, ApiKeyRecord>; identity: string; parsed: ParsedStore } | undefined {
  let bytes: Buffer
  let identity: string
  try {
    const fd = openSync(file, 'r')
    try {
      const stats = fstatSync(fd)
      if (stats.size > MAX_STORE_FILE_BYTES) throw new ConfigError(tooLarge(file, stats.size))
      identity = identityOf(stats)
      bytes = buffers ? buffers.readSync(fd, stats.size, previous?.bytes) : readFileSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause
    if (errorCode(cause) === 'ENOENT' && missingIsEmpty) return undefined
    throw new ConfigError(`cannot read the key store ${file} (${errorCode(cause) ?? 'error'})`, { cause })
  }
  const parsed = parseStoreBytes(bytes, previous)
  if (typeof parsed === 'string') throw new ConfigError(`key store ${file} ${parsed}`)
  return { records: parsed.records, identity, parsed }
}

/**
 * The file's bytes and its identity, from one open: the identity is that of the file read. A file
 * too large to read as text is a `ConfigError` saying so, before anything is read. Read into a
 * new buffer, or into the one of `into.buffers` that does not hold `into.keep`.
 */
async function readWithIdentity(
  file: string,
  into?: { buffers: ReadBuffers; keep: Buffer | undefined },
): Promise<{ bytes: Buffer; identity: string }> {
  const handle = await open(file, 'r')
  try {
    const stats = await handle.stat()
    if (stats.size > MAX_STORE_FILE_BYTES) throw new ConfigError(tooLarge(file, stats.size))
    const bytes = into ? await into.buffers.read(handle, stats.size, into.keep) : await handle.readFile()
    return { identity: identityOf(stats), bytes }
  } finally {
    await handle.close()
  }
}

/**
 * The watcher's read: asynchronous, parsed in slices; a `ConfigError` for a missing or bad file.
 * Only the changes since `previous` when it is the parse of the records in memory (`live`) and the
 * file is that one with records changed in place or appended; else the whole file's parse.
 */
async function loadInSlices(
  file: string,
  previous: ParsedStore | undefined,
  live: Map<string, ApiKeyRecord>,
  buffers: ReadBuffers | undefined,
): Promise<{ identity: string } & ({ changes: StoreChanges } | { parsed: ParsedStore })> {
  let bytes: Buffer
  let identity: string
  try {
    ;({ bytes, identity } = await readWithIdentity(file, buffers && { buffers, keep: previous?.bytes }))
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause
    if (errorCode(cause) === 'ENOENT') throw new ConfigError(`key store ${file} is missing`, { cause })
    throw new ConfigError(`cannot read the key store ${file} (${errorCode(cause) ?? 'error'})`, { cause })
  }
  if (previous?.records === live) {
    const changes = await changesInSlices(bytes, previous)
    if (changes !== undefined) return { identity, changes }
  }
  const parsed = await parseStoreInSlices(bytes, previous)
  if (typeof parsed === 'string') throw new ConfigError(`key store ${file} ${parsed}`)
  return { identity, parsed }
}

/** Why a store file of `size` bytes cannot be read, and what to use instead. */
function tooLarge(file: string, size: number): string {
  return (
    `key store ${file} is ${size} bytes, more than a file store can read (${MAX_STORE_FILE_BYTES} bytes, ` +
    'the longest string Node.js makes). The file store is meant for up to 100 000 keys (its maxKeys ' +
    'option); for more, use the PostgreSQL store (@callsign/store-postgres)'
  )
}

/** The store file's text for these records; too much text for one string is `ERR_KEY_STORE_FULL`. */
function serialize(file: string, records: Map<string, ApiKeyRecord>): string {
  try {
    return serializeStore(records.values())
  } catch (cause) {
    if (!(cause instanceof RangeError)) throw cause
    throw new KeyStoreError(
      'ERR_KEY_STORE_FULL',
      `the key store ${file} would be too large to write as one file; nothing was written. The file ` +
        'store is meant for up to 100 000 keys (its maxKeys option); for more, use the PostgreSQL ' +
        'store (@callsign/store-postgres)',
      { cause },
    )
  }
}

function currentIdentity(file: string): string {
  try {
    return identityOf(statSync(file))
  } catch {
    return 'missing'
  }
}

/**
 * The records as the file holds them now, and the file's identity when read (`missing` if absent).
 * The last file parsed, whose unchanged records are reused, is asked for after the read and used at
 * once: its bytes may be in one of the watcher's buffers, which a later load may read into.
 */
async function loadFresh(
  file: string,
  lastParsed: () => ParsedStore | undefined,
): Promise<{ records: Map<string, ApiKeyRecord>; identity: string }> {
  let bytes: Buffer
  let identity: string
  try {
    ;({ bytes, identity } = await readWithIdentity(file))
  } catch (cause) {
    if (cause instanceof ConfigError) throw new KeyStoreError('ERR_KEY_STORE_FULL', cause.message, { cause })
    if (errorCode(cause) === 'ENOENT') return { records: new Map(), identity: 'missing' }
    throw new KeyStoreError('ERR_KEY_STORE_IO', `cannot read the key store ${file}`, { cause })
  }
  const parsed = parseStoreBytes(bytes, lastParsed())
  if (typeof parsed === 'string') {
    throw new KeyStoreError('ERR_KEY_STORE_IO', `key store ${file} ${parsed}; not overwriting it`)
  }
  return { records: parsed.records, identity }
}

async function fileIdentity(file: string): Promise<string> {
  try {
    return identityOf(await stat(file))
  } catch (cause) {
    if (errorCode(cause) === 'ENOENT') return 'missing'
    throw cause
  }
}

function identityOf(stat: { dev: number; ino: number; size: number; mtimeMs: number }): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(`fileKeyStore: "${name}" must be a positive number`)
  return value
}

function printable(id: string): string {
  return /^[0-9A-Za-z]{1,32}$/.test(id) ? id : '(invalid id)'
}
