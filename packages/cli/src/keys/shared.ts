import { existsSync, statSync } from 'node:fs'
import { type ApiKeyRecord, fileKeyStore, type KeyStore, parseApiKey } from '@callsign/api-key'
import { ConfigError, isScope } from '@callsign/core'
import { type CommandIo, type OptionSpec, UsageError } from '../command.js'
import { parseDuration } from '../parse-duration.js'

/** Where the key store lives when neither `--store` nor `CALLSIGN_KEY_STORE` says: relative to the working folder. */
export const DEFAULT_KEY_STORE = '.callsign/keys.json'

/** The `--store` option, the same on every command that reads or writes the key store. */
export const STORE_OPTION: OptionSpec = {
  type: 'string',
  value: '<file|url>',
  help: 'the key store: a file or a postgres:// URL\n(default: $CALLSIGN_KEY_STORE, else .callsign/keys.json)',
}

export function storePath(value: unknown, io: CommandIo): string {
  if (typeof value === 'string') {
    if (value.length === 0) throw new UsageError('--store must not be empty')
    return value
  }
  return io.env.CALLSIGN_KEY_STORE || DEFAULT_KEY_STORE
}

/** A postgres:// (or postgresql://) store location rather than a file path. */
export function isPostgresUrl(where: string): boolean {
  return /^postgres(?:ql)?:\/\//.test(where)
}

/** The store location as it may be shown: a URL without its password. */
export function shownStore(where: string): string {
  if (!isPostgresUrl(where)) return where
  try {
    const url = new URL(where)
    if (url.password !== '') url.password = '***'
    return url.toString()
  } catch {
    return 'postgres://(invalid URL)'
  }
}

/**
 * The key store named by `--store` or `CALLSIGN_KEY_STORE`: a PostgreSQL store for a postgres:// URL
 * (loaded only then; it does not listen, and its idle connections let the process exit), else a file.
 * A file that does not exist is an error, unless the command creates the store (`create: true`):
 * a mistyped path must not read as an empty store.
 */
export async function openStore(
  value: unknown,
  io: CommandIo,
  options: { readonly create?: boolean; readonly write?: boolean } = {},
): Promise<KeyStore> {
  const where = storePath(value, io)
  if (isPostgresUrl(where)) {
    const { postgresKeyStore } = await import('@callsign/store-postgres')
    return postgresKeyStore(where, { listen: false })
  }
  const source = value === undefined ? storeSource(io) : '--store'
  if (!options.create) mustExist(where, source)
  if (options.write) mustBeWritable(where, source)
  return fileKeyStore(where, { watch: false })
}

/** Where the store's location came from, for a message. */
function storeSource(io: CommandIo): string {
  return io.env.CALLSIGN_KEY_STORE ? '$CALLSIGN_KEY_STORE' : 'the default key store'
}

/** A ConfigError naming the option when the key store file is not there. */
export function mustExist(file: string, source: string): void {
  if (existsSync(file)) return
  throw new ConfigError(
    `${source} ${file}: no key store there (\`callsign keys create\` makes one; check the path)`,
  )
}

/**
 * A ConfigError when the store file is read-only (say `chmod 444` to freeze it): a write would
 * replace it with a new file of mode 0600, silently undoing that.
 */
function mustBeWritable(file: string, source: string): void {
  let mode: number
  try {
    mode = statSync(file).mode
  } catch {
    return // not there yet: created with mode 0600
  }
  if ((mode & 0o200) === 0) {
    throw new ConfigError(
      `${source} ${file} is read-only (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); make it writable to change it`,
    )
  }
}

/**
 * The key id of a command's argument: the argument itself, or the id read out of a whole key
 * (`csk_<id>_<secret>`), so a key pasted by mistake still works and is never printed back.
 */
export function keyIdArgument(argument: string): string {
  if (/^[A-Za-z0-9]{12}$/.test(argument)) return argument
  try {
    return parseApiKey(argument).id
  } catch {
    throw new UsageError('expected a key id (12 letters and digits) or a whole key; this is neither')
  }
}

export function parseExpires(value: unknown): number | 'never' | undefined {
  if (value === undefined) return undefined
  if (value === 'never') return 'never'
  return parseDuration(String(value), '--expires (or "never")')
}

export function checkScopes(values: unknown): string[] {
  const scopes = Array.isArray(values) ? (values as string[]) : []
  if (scopes.length === 0) throw new UsageError('at least one --scope is required')
  for (const scope of scopes) {
    if (!isScope(scope))
      throw new UsageError(`malformed scope ${JSON.stringify(scope)}: expected "resource:action"`)
  }
  return scopes
}

/** A key's state at `now`, the same word in the table and in JSON. */
export type KeyState = 'active' | 'expired' | 'revoked' | 'rotated' | 'rotated-out'

export function keyState(record: ApiKeyRecord, now: number): KeyState {
  if (record.state === 'revoked') return 'revoked'
  if (record.graceUntil !== null) return Date.parse(record.graceUntil) > now ? 'rotated' : 'rotated-out'
  if (record.expiresAt !== null && Date.parse(record.expiresAt) <= now) return 'expired'
  return 'active'
}

/**
 * A record as the CLI shows it: everything but the secret's hash, with `state` as of `now` (the
 * table's word: a key past its expiry is "expired", not the stored "active").
 */
export function publicRecord(
  record: ApiKeyRecord,
  now: number,
): Omit<ApiKeyRecord, 'secretHash' | 'state'> & { state: KeyState } {
  const { secretHash: _hidden, ...rest } = record
  return { ...rest, state: keyState(record, now) }
}

/** `active`, `revoked`, `expired`, `rotated (grace until …)` or `rotated out`, at `now`. */
export function status(record: ApiKeyRecord, now: number): string {
  const state = keyState(record, now)
  if (state === 'rotated') return `rotated (grace until ${record.graceUntil})`
  return state === 'rotated-out' ? 'rotated out' : state
}

export function describe(record: ApiKeyRecord): string {
  return `key ${record.id} for ${record.owner} (scopes ${record.scopes.join(' ')}; expires ${record.expiresAt ?? 'never'})`
}
