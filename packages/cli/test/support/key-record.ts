import { type ApiKeyRecord, generateApiKey } from '@callsign/api-key'

const DAY = 86_400_000

/**
 * A key record as a store holds it, with a fresh id and secret hash: active, created 10 days ago,
 * expiring in 80 days, unless `overrides` says otherwise. For fixtures written straight into a store.
 */
export function keyRecord(
  owner: string,
  scopes: readonly string[],
  overrides: Partial<ApiKeyRecord> = {},
): ApiKeyRecord {
  const { id, secretHash } = generateApiKey()
  return {
    id,
    owner,
    scopes: [...scopes],
    secretHash,
    createdAt: new Date(Date.now() - 10 * DAY).toISOString(),
    expiresAt: new Date(Date.now() + 80 * DAY).toISOString(),
    state: 'active',
    revokedAt: null,
    rotatedFrom: null,
    rotatedTo: null,
    lastRotatedAt: null,
    graceUntil: null,
    labels: {},
    ...overrides,
  }
}
