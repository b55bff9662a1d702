export { type MigrateOptions, type MigrateResult, migrate, SCHEMA_VERSION } from './migrate.js'
export {
  type PostgresKeyStore,
  type PostgresKeyStoreHealth,
  type PostgresKeyStoreOptions,
  postgresKeyStore,
} from './postgres-key-store.js'
