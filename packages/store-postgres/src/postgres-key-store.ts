import { type ApiKeyRecord, checkKeyRecord, type KeyStore, KeyStoreError } from '@callsign/api-key'
import { type Clock, ConfigError, checkLogger, type Logger, systemClock, warn } from '@callsign/core'
import pg from 'pg'
import { type ChangeListener, changeListener } from './lib/change-listener.js'
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
  /** Time source for `revokedAt`. */
  readonly clock?: Clock
}

/** A {@link KeyStore} on PostgreSQL. */
export interface PostgresKeyStore extends KeyStore {
  onChange(listener: (changedIds?: readonly string[]) => void): () => void
  rotate(
    id: string,
    next: ApiKeyRecord,
    change: (current: ApiKeyRecord) => ApiKeyRecord,
  ): Promise<ApiKeyRecord>
  /** True until the store listens for changes, and whenever that connection is lost. */
  isStale(): boolean
  /** Resolves once the store listens for changes (it keeps trying until then), or when it is closed. */
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
  const timeoutMs = positive(options.timeoutMs, 2000, 'timeoutMs')
  const heartbeatMs = positive(options.heartbeatMs, 1000, 'heartbeatMs')
  const minRetryMs = positive(options.minRetryMs, 100, 'minRetryMs')
  const maxRetryMs = positive(options.maxRetryMs, 5000, 'maxRetryMs')
  const poolSize = options.poolSize ?? 10
  if (!Number.isSafeInteger(poolSize) || poolSize < 1) {
    throw new ConfigError(`${where}: "poolSize" must be a positive integer`)
  }
  const clock = options.clock ?? systemClock
  const logger = checkLogger(options.logger, 'postgresKeyStore')
  const onError =
    options.onError ??
    ((error: KeyStoreError) => warn(logger, 'CALLSIGN_KEY_STORE_LISTEN', `${error.message}; reconnecting`))

  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
    application_name: 'callsign-key-store',
    allowExitOnIdle: true, // idle connections never keep a process alive
  })
  pool.on('error', () => {}) // an idle connection that drops is replaced on the next call

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
          onId: (id) => notify([id]),
          onListening: () => {
            whenReady()
            notify() // what changed while not listening is unknown
          },
          onLost: (cause) => onError(storeFailure(cause)),
        })

  const query = async (text: string, values: unknown[]): Promise<pg.QueryResult> => {
    try {
      return await pool.query(text, values)
    } catch (cause) {
      throw storeFailure(cause)
    }
  }

  /** Runs `work` in a transaction on one connection; the connection is dropped after any failure. */
  const transaction = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient
    try {
      client = await pool.connect()
    } catch (cause) {
      throw storeFailure(cause)
    }
    try {
      await client.query('BEGIN')
      const result = await work(client)
      await client.query('COMMIT')
      client.release()
      return result
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      client.release(error instanceof KeyStoreError ? undefined : (error as Error))
      throw storeFailure(error)
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
      return rows.length === 0 ? undefined : checkKeyRecord(rows[0].record)
    },
    async list() {
      const { rows } = await query(`SELECT record FROM ${names.keys} ORDER BY record->>'createdAt', id`, [])
      return rows.map((row) => checkKeyRecord(row.record))
    },
    async create(input) {
      const record = checkKeyRecord(input)
      return transaction(async (client) => {
        await writeRecord(client, names, record, 'INSERT')
        return record
      })
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

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`postgresKeyStore: "${name}" must be a positive number`)
  }
  return value
}

function printable(id: string): string {
  return /^[0-9A-Za-z]{1,32}$/.test(id) ? id : '(invalid id)'
}
