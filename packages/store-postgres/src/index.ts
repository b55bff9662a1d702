export type { PostgresSharedStateOptions } from './lib/shared-state.js'
export { type MigrateOptions, type MigrateResult, migrate, SCHEMA_VERSION } from './migrate.js'
export {
  type FailureBucketRule,
  type PostgresFailureStore,
  postgresFailureStore,
} from './postgres-failure-store.js'
export {
  type PostgresKeyStore,
  type PostgresKeyStoreHealth,
  type PostgresKeyStoreOptions,
  postgresKeyStore,
} from './postgres-key-store.js'
export {
  type PostgresReplayStore,
  postgresReplayStore,
} from './postgres-replay-store.js'
