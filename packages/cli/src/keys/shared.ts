import { parseArgs } from 'node:util'
import { type ApiKeyRecord, fileKeyStore, type KeyStore } from '@callsign/api-key'
import { isScope } from '@callsign/core'
import { type CommandIo, UsageError } from '../command.js'
import { parseDuration } from '../parse-duration.js'

/** Where the key store lives when neither `--store` nor `CALLSIGN_KEY_STORE` says: relative to the working folder. */
export const DEFAULT_KEY_STORE = '.callsign/keys.json'

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>

/** `node:util` parseArgs, strict, with its complaints turned into usage errors. */
export function parse(argv: readonly string[], options: OptionSpec, positionals = 0) {
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: [...argv],
      options,
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : 'invalid arguments')
  }
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(
      positionals === 0 ? `unexpected argument "${parsed.positionals[0]}"` : 'expected exactly one key id',
    )
  }
  return parsed as { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] }
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
 */
export async function openStore(value: unknown, io: CommandIo): Promise<KeyStore> {
  const where = storePath(value, io)
  if (isPostgresUrl(where)) {
    const { postgresKeyStore } = await import('@callsign/store-postgres')
    return postgresKeyStore(where, { listen: false })
  }
  return fileKeyStore(where, { watch: false })
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

/** A record as the CLI shows it: everything but the secret's hash. */
export function publicRecord(record: ApiKeyRecord): Omit<ApiKeyRecord, 'secretHash'> {
  const { secretHash: _hidden, ...rest } = record
  return rest
}

/** `active`, `revoked`, `expired`, `rotated (grace until …)` or `rotated out`, at `now`. */
export function status(record: ApiKeyRecord, now: number): string {
  if (record.state === 'revoked') return 'revoked'
  if (record.graceUntil !== null) {
    return Date.parse(record.graceUntil) > now ? `rotated (grace until ${record.graceUntil})` : 'rotated out'
  }
  if (record.expiresAt !== null && Date.parse(record.expiresAt) <= now) return 'expired'
  return 'active'
}

export function describe(record: ApiKeyRecord): string {
  return `key ${record.id} for ${record.owner} (scopes ${record.scopes.join(' ')}; expires ${record.expiresAt ?? 'never'})`
}
