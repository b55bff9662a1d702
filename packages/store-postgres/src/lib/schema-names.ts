import { ConfigError } from '@callsign/core'

const SCHEMA = /^[a-z_][a-z0-9_]{0,39}$/

/** The default schema that holds the key store's tables. */
export const DEFAULT_SCHEMA = 'callsign'

/** The quoted names of the stores' tables and its notification channel, in one schema. */
export interface SchemaNames {
  readonly schema: string
  readonly keys: string
  readonly migrations: string
  /** One-time JWT ids (hashed) and until when they are held: the shared replay store. */
  readonly replay: string
  /** The issuer's failed-authentication buckets: the shared failure store. */
  readonly failures: string
  /** The `LISTEN`/`NOTIFY` channel: each notification's payload is one key id. */
  readonly channel: string
}

export function schemaNames(schema: string | undefined, where: string): SchemaNames {
  const name = schema ?? DEFAULT_SCHEMA
  if (typeof name !== 'string' || !SCHEMA.test(name)) {
    throw new ConfigError(`${where}: "schema" must be a lower-case SQL name (letters, digits, _; up to 40)`)
  }
  return {
    schema: `"${name}"`,
    keys: `"${name}".api_keys`,
    migrations: `"${name}".schema_migrations`,
    replay: `"${name}".jwt_replay`,
    failures: `"${name}".auth_failures`,
    channel: `"${name}_api_keys"`,
  }
}

/**
 * A connection string: a postgres:// or postgresql:// URL, optionally naming the schema as
 * `?schema=<name>` (taken out before the URL reaches the driver; the `schema` option wins).
 */
export function parseStoreUrl(url: unknown, where: string): { connectionString: string; schema?: string } {
  if (typeof url !== 'string' || !/^postgres(?:ql)?:\/\//.test(url)) {
    throw new ConfigError(`${where}: the connection string must be a postgres:// URL`)
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError(`${where}: the connection string is not a valid URL`)
  }
  const schema = parsed.searchParams.get('schema')
  if (schema === null) return { connectionString: url }
  parsed.searchParams.delete('schema')
  return { connectionString: parsed.toString(), schema }
}
