import {
  type ApiKeyRecord,
  checkKeyRecord,
  type KeyStore,
  KeyStoreError,
  type KeyStoreErrorCode,
  type KeyStoreHealth,
} from '@callsign/api-key'
import { type Clock, type Logger, systemClock } from '@callsign/core'
import { checkLogger, warn } from '@callsign/core/adapter'
import type pg from 'pg'
import { type ChangeListener, changeListener } from './lib/change-listener.js'
import { poolSizeOf, positive } from './lib/positive.js'
import { queryPool } from './lib/query-pool.js'
import { parseStoreUrl, type SchemaNames, schemaNames } from './lib/schema-names.js'
import { storeFailure } from './lib/store-failure.js'

export interface PostgresKeyStoreOptions {
  /** The schema that holds the tables, as given to `migrate`. Default: the URL's `?schema=`, else `callsign`. */
  readonly schema?: string
  /**
   * Listen for changes. Default `true`; `false` for a one-shot tool (the CLI) that reads or writes
   * and exits: no listening connection, `onChange` never fires, and `isStale()` is always true.
   */
  readonly listen?: boolean
  /**
   * The longest a lookup or write may take, connecting included; past it the call rejects with
   * `ERR_KEY_STORE_UNAVAILABLE` (and a verifier refuses the key). Default 2 000 ms.
   */
  readonly timeoutMs?: number
  /** Connections kept for lookups and writes. Default 10. */
  readonly poolSize?: number
  /** How often the listening connection is checked with `SELECT 1`. Default 1 000 ms. */
  readonly heartbeatMs?: number
  /** First delay before reconnecting a lost listening connection; doubles up to `maxRetryMs`. Default 100 ms. */
  readonly minRetryMs?: number
  /** Longest delay between reconnection attempts. Default 5 000 ms. */
  readonly maxRetryMs?: number
  /** Told when the listening connection is lost (the store is stale until it is back). Default: a warning. */
  readonly onError?: (error: KeyStoreError) => void
  /** Where the default `onError` writes: a pino-compatible logger. Default: a process warning. */
  readonly logger?: Logger
  /** Time source for `revokedAt` and the ages in `health()`. */
  readonly clock?: Clock
}

/** A snapshot of the store for a health endpoint (see {@link PostgresKeyStore.health}). */
export interface PostgresKeyStoreHealth extends KeyStoreHealth {
  /**
   * `listening`: notifications arrive and the last call answered; `stale`: not listening (reconnecting,
   * or `listen: false`), cached keys follow the verifier's `maxStaleMs`; `failing`: the last lookup or
   * write failed (keys not cached are refused) until one succeeds.
   */
  readonly state: 'listening' | 'stale' | 'failing'
  readonly listening: boolean
  /** Seconds since the store stopped listening (or was created, before it first listened); null while listening. */
  readonly staleForSeconds: number | null
  /** Seconds since the last lookup or write that succeeded; null before the first one. */
  readonly lastSuccessAgeSeconds: number | null
  /** Seconds since the last change notification arrived; null before the first one. */
  readonly lastNotificationAgeSeconds: number | null
  /** The code of the last failed lookup or write (`ERR_KEY_STORE_UNAVAILABLE`, `ERR_KEY_STORE_SCHEMA`); null after a success. */
  readonly lastError: KeyStoreErrorCode | null
  /** Key ids the store knows exist (no lookup budget is spent on them). */
  readonly knownIds: number
}

/** A {@link KeyStore} on PostgreSQL. */
export interface PostgresKeyStore extends KeyStore {
  /**
   * True when a key with this id exists, as far as the store has heard (the ids are read when it
   * starts listening and kept up to date by notifications): a verifier spends no lookup budget on it.
   */
  knows(id: string): boolean
  onChange(listener: (changedIds?: readonly string[]) => void): () => void
  rotate(
    id: string,
    next: ApiKeyRecord,
    change: (current: ApiKeyRecord) => ApiKeyRecord,
  ): Promise<ApiKeyRecord>
  /** True until the store listens for changes, and whenever that connection is lost. */
  isStale(): boolean
  /** A snapshot for a health endpoint: listening or stale, and the age of the last answer and notification. */
  health(): PostgresKeyStoreHealth
  /** Resolves once the store listens for changes and has read the key ids (it keeps trying until then), or when it is closed. */
  ready(): Promise<void>
  /** Stops listening and closes every connection. */
  close(): Promise<void>
}

/**
 * The key store shared by every replica: records in one PostgreSQL table (hashed secrets only,
 * as the file store keeps them), every write a transaction that announces the key id on a
 * `LISTEN`/`NOTIFY` channel when it commits, so every replica's verifier evicts exactly that key.
 * The tables come from {@link migrate}, never from here. A lost listening connection is
 * re-established with backoff; meanwhile `isStale()` is true (a verifier then re-reads records older
 * than its `maxStaleMs`), and once listening again the store announces that anything may have
 * changed. A lookup or write that takes longer than `timeoutMs` rejects; the store never throws
 * outside a call and recovers by itself when the database is back.
 *
 * @example
 * const store = postgresKeyStore(process.env.CALLSIGN_KEY_STORE)
 * const verifier = apiKeyVerifier({ store })
 */
export function postgresKeyStore(url: string, options: PostgresKeyStoreOptions = {}): PostgresKeyStore {
  const where = 'postgresKeyStore'
  const parsed = parseStoreUrl(url, where)
  const connectionString = parsed.connectionString
  const names = schemaNames(options.schema ?? parsed.schema, where)
  const timeoutMs = positive(options.timeoutMs, 2000, `${where}: "timeoutMs"`)
  const heartbeatMs = positive(options.heartbeatMs, 1000, `${where}: "heartbeatMs"`)
  const minRetryMs = positive(options.minRetryMs, 100, `${where}: "minRetryMs"`)
  const maxRetryMs = positive(options.maxRetryMs, 5000, `${where}: "maxRetryMs"`)
  const poolSize = poolSizeOf(options.poolSize, where)
  const clock = options.clock ?? systemClock
  const logger = checkLogger(options.logger, 'postgresKeyStore')
  const onError =
    options.onError ??
    ((error: KeyStoreError) => warn(logger, 'CALLSIGN_KEY_STORE_LISTEN', `${error.message}; reconnecting`))

  const pool = queryPool(connectionString, {
    max: poolSize,
    timeoutMs,
    applicationName: 'callsign-key-store',
  })

  const listeners = new Set<(changedIds?: readonly string[]) => void>()
  const notify = (changed?: readonly string[]) => {
    for (const listener of listeners) {
      try {
        listener(changed)
      } catch {
        // a listener must not break the store
      }
    }
  }
  let whenReady: () => void = () => {}
  const readyPromise = new Promise<void>((resolve) => {
    whenReady = resolve
  })
  // For health(): times in ms on the store's clock.
  let staleSince: number | null = clock.now()
  let lastSuccessAt: number | null = null
  let lastNotificationAt: number | null = null
  let lastError: KeyStoreErrorCode | null = null
  let lastErrorAt = 0
  const succeeded = <T>(result: T): T => {
    lastSuccessAt = clock.now()
    lastError = null
    return result
  }
  const failed = (error: unknown): never => {
    const failure = storeFailure(error)
    if (failure.code === 'ERR_KEY_STORE_UNAVAILABLE' || failure.code === 'ERR_KEY_STORE_SCHEMA') {
      lastError = failure.code
      lastErrorAt = clock.now()
    }
    throw failure
  }

  /** Every key id in the table, as far as this store has heard: loaded when it listens, then kept by notifications. */
  const ids = new Set<string>()
  const loadIds = async () => {
    try {
      const { rows } = await pool.query<{ id: string }>(`SELECT id FROM ${names.keys}`)
      for (const row of rows) ids.add(row.id)
    } catch {
      // unknown ids spend the verifier's lookup budget until the next successful load
    }
  }
  const listener =
    options.listen === false
      ? deaf()
      : changeListener({
          url: connectionString,
          channel: names.channel,
          applicationName: `callsign-key-store-listen ${names.schema.slice(1, -1)}`,
          timeoutMs,
          heartbeatMs,
          minRetryMs,
          maxRetryMs,
          onId: (id) => {
            lastNotificationAt = clock.now()
            ids.add(id)
            notify([id])
          },
          onListening: () => {
            staleSince = null
            notify() // what changed while not listening is unknown
            void loadIds().then(whenReady)
          },
          onLost: (cause) => {
            staleSince ??= clock.now()
            onError(storeFailure(cause))
          },
        })

  const query = async (text: string, values: unknown[]): Promise<pg.QueryResult> => {
    try {
      return succeeded(await pool.query(text, values))
    } catch (cause) {
      return failed(cause)
    }
  }

  /** Runs `work` in a transaction on one connection; the connection is dropped after any failure. */
  const transaction = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient
    try {
      client = await pool.connect()
    } catch (cause) {
      return failed(cause)
    }
    try {
      await client.query('BEGIN')
      const result = await work(client)
      await client.query('COMMIT')
      client.release()
      return succeeded(result)
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      client.release(error instanceof KeyStoreError ? undefined : (error as Error))
      return failed(error)
    }
  }

  /** The current record, locked until the transaction ends. */
  const lockedRecord = async (client: pg.PoolClient, id: string): Promise<ApiKeyRecord> => {
    const { rows } = await client.query(`SELECT record FROM ${names.keys} WHERE id = $1 FOR UPDATE`, [id])
    if (rows.length === 0) throw new KeyStoreError('ERR_KEY_NOT_FOUND', `no key with id "${printable(id)}"`)
    return checkKeyRecord(rows[0].record)
  }

  const write = (client: pg.PoolClient, record: ApiKeyRecord) =>
    writeRecord(client, names, record, 'UPDATE').then(() => record)

  return {
    async find(id) {
      if (typeof id !== 'string' || !/^[0-9A-Za-z]{12}$/.test(id)) return undefined
      const { rows } = await query(`SELECT record FROM ${names.keys} WHERE id = $1`, [id])
      if (rows.length === 0) return undefined
      ids.add(id)
      return checkKeyRecord(rows[0].record)
    },
    knows: (id) => ids.has(id),
    async list() {
      const { rows } = await query(`SELECT record FROM ${names.keys} ORDER BY record->>'createdAt', id`, [])
      return rows.map((row) => checkKeyRecord(row.record))
    },
    async create(input) {
      const record = checkKeyRecord(input)
      await transaction((client) => writeRecord(client, names, record, 'INSERT'))
      ids.add(record.id)
      return record
    },
    update(id, change) {
      return transaction(async (client) => {
        const record = checkKeyRecord(change(await lockedRecord(client, id)))
        if (record.id !== id)
          throw new KeyStoreError('ERR_INVALID_KEY_RECORD', 'an update cannot change a key id')
        return write(client, record)
      })
    },
    async rotate(id, next, change) {
      const created = checkKeyRecord(next)
      return transaction(async (client) => {
        const record = checkKeyRecord(change(await lockedRecord(client, id)))
        if (record.id !== id)
          throw new KeyStoreError('ERR_INVALID_KEY_RECORD', 'an update cannot change a key id')
        await writeRecord(client, names, created, 'INSERT')
        return write(client, record)
      }).then((record) => {
        ids.add(created.id)
        return record
      })
    },
    revoke(id) {
      return transaction(async (client) => {
        const record = await lockedRecord(client, id)
        if (record.state === 'revoked') return record
        const revokedAt = new Date(clock.now()).toISOString()
        return write(client, Object.freeze({ ...record, state: 'revoked' as const, revokedAt }))
      })
    },
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    isStale: () => !listener.listening(),
    health() {
      const now = clock.now()
      const age = (at: number | null) => (at === null ? null : Math.max(0, (now - at) / 1000))
      const listening = listener.listening()
      const state = lastError !== null ? 'failing' : listening ? 'listening' : 'stale'
      const iso = (at: number) => new Date(at).toISOString()
      return {
        status: state === 'failing' ? 'failing' : state === 'stale' ? 'degraded' : 'ok',
        loadedAt: lastSuccessAt === null ? null : iso(lastSuccessAt),
        lastReloadError: lastError === null ? null : { at: iso(lastErrorAt), error: lastError },
        state,
        listening,
        staleForSeconds: listening ? null : age(staleSince ?? now),
        lastSuccessAgeSeconds: age(lastSuccessAt),
        lastNotificationAgeSeconds: age(lastNotificationAt),
        lastError,
        knownIds: ids.size,
      }
    },
    ready: () => (options.listen === false ? Promise.resolve() : readyPromise),
    async close() {
      whenReady()
      listeners.clear()
      await listener.close()
      await pool.end().catch(() => {})
    },
  }
}

/** Writes one record and announces its id; the announcement is delivered when the transaction commits. */
async function writeRecord(
  client: pg.PoolClient,
  names: SchemaNames,
  record: ApiKeyRecord,
  how: 'INSERT' | 'UPDATE',
): Promise<void> {
  const values = [record.id, record.owner, record.state, JSON.stringify(record)]
  if (how === 'INSERT') {
    const { rowCount } = await client.query(
      `INSERT INTO ${names.keys} (id, owner, state, record) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
      values,
    )
    if (rowCount === 0) throw new KeyStoreError('ERR_KEY_EXISTS', `a key with id "${record.id}" exists`)
  } else {
    await client.query(
      `UPDATE ${names.keys} SET owner = $2, state = $3, record = $4, updated_at = now() WHERE id = $1`,
      values,
    )
  }
  await client.query('SELECT pg_notify($1, $2)', [names.channel.slice(1, -1), record.id])
}

/** The listener of a store that does not listen. */
function deaf(): ChangeListener {
  return { listening: () => false, close: async () => {} }
}

function printable(id: string): string {
  return /^[0-9A-Za-z]{1,32}$/.test(id) ? id : '(invalid id)'
}
