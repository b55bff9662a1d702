import { ConfigError } from '@callsign/core'

const SCHEMA = /^[a-z_][a-z0-9_]{0,39}$/

/** The default schema that holds the key store's tables. */
export const DEFAULT_SCHEMA = 'callsign'

/** The quoted names of the store's tables and its notification channel, in one schema. */
export interface SchemaNames {
  readonly schema: string
  readonly keys: string
  readonly migrations: string
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
    channel: `"${name}_api_keys"`,
  }
}

/** A connection string must be a postgres:// or postgresql:// URL. */
export function checkUrl(url: unknown, where: string): string {
  if (typeof url !== 'string' || !/^postgres(?:ql)?:\/\//.test(url)) {
    throw new ConfigError(`${where}: the connection string must be a postgres:// URL`)
  }
  return url
}
