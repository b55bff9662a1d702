import { apiKeyVerifier, createApiKey, type KeyStore } from '@callsign/api-key'
import { AuthError, type Clock } from '@callsign/core'
import { type PostgresKeyStore, postgresKeyStore } from '@callsign/store-postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { authRequest } from '../../../test/support/auth-request.js'
import { DATABASE_URL, eventually, sql } from './support/postgres.js'
import { tcpProxy } from './support/tcp-proxy.js'
import { testDatabase } from './support/test-database.js'

const { postgres, schema } = await testDatabase('the PostgreSQL outage tests', 'outage', { migrated: true })
const open: PostgresKeyStore[] = []
const store = (options: Parameters<typeof postgresKeyStore>[1] = {}, url = DATABASE_URL) => {
  const made = postgresKeyStore(url, { schema, onError: () => {}, ...options })
  open.push(made)
  return made
}
afterAll(async () => {
  for (const made of open) await made.close()
})

/** The verifier's answer: the caller id, or the refusal's reason. */
async function outcome(verifier: ReturnType<typeof apiKeyVerifier>, key: string): Promise<string> {
  try {
    return (await verifier.verify(authRequest({ authorization: `Bearer ${key}` })))?.id ?? 'null'
  } catch (error) {
    if (error instanceof AuthError) return `refused: ${error.reason}`
    throw error
  }
}
const clockAt = (start: number): Clock & { advance(ms: number): void } => {
  let now = start
  return { now: () => now, advance: (ms) => (now += ms) }
}
const newKey = (into: KeyStore, owner: string) => createApiKey(into, { owner, scopes: ['orders:read'] })
const terminateListener = () =>
  sql(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`,
    [`callsign-key-store-listen ${schema}`],
  )

describe.skipIf(!postgres)('the PostgreSQL store in an outage', () => {
  it('re-listens by itself after pg_terminate_backend, tells listeners anything may have changed, and delivers ids again', async () => {
    const replica = store({ minRetryMs: 50 })
    const writer = store()
    await replica.ready()
    const events: (readonly string[] | undefined)[] = []
    replica.onChange((ids) => events.push(ids))
    expect(replica.health()).toMatchObject({ state: 'listening', listening: true, staleForSeconds: null })
    expect((await terminateListener()).length).toBeGreaterThan(0)
    await eventually(() => events.includes(undefined) && !replica.isStale())
    const { record } = await newKey(writer, 'after')
    await eventually(() => events.some((ids) => ids?.includes(record.id)))
    expect(replica.health()).toMatchObject({ state: 'listening', listening: true, lastError: null })
    expect(replica.health().lastNotificationAgeSeconds).not.toBeNull()
  })

  it('while not listening, re-reads a cached key older than maxStaleMs, so a revocation it missed is refused', async () => {
    const clock = clockAt(Date.now())
    const replica = store({ minRetryMs: 60_000, clock }) // stays deaf for this test
    const writer = store()
    await replica.ready()
    const verifier = apiKeyVerifier({ store: replica, clock, maxStaleMs: 3000 })
    const seen = new Set<string>()
    replica.onChange((ids) => {
      for (const id of ids ?? []) seen.add(id)
    })
    const leaked = await newKey(writer, 'leaked')
    const fine = await newKey(writer, 'fine')
    // the creations' announcements arrive first, so they cannot evict what is cached next
    await eventually(() => seen.has(leaked.record.id) && seen.has(fine.record.id))
    expect(await outcome(verifier, leaked.key)).toBe('leaked')
    expect(await outcome(verifier, fine.key)).toBe('fine')

    await terminateListener()
    await eventually(() => replica.isStale())
    expect(replica.health()).toMatchObject({
      state: 'stale',
      listening: false,
      staleForSeconds: 0,
      lastError: null,
    })
    await writer.revoke(leaked.record.id) // announced, but this replica is not listening
    // Within the bound the cached record is still trusted: the documented trade-off.
    expect(await outcome(verifier, leaked.key)).toBe('leaked')
    clock.advance(3001)
    expect(replica.health().staleForSeconds).toBe(3.001)
    expect(await outcome(verifier, leaked.key)).toBe('refused: revoked')
    expect(await outcome(verifier, fine.key)).toBe('fine')
  })

  it('refuses a lookup slower than timeoutMs (fail closed), then answers again', async () => {
    const slow = store({ timeoutMs: 500 })
    const writer = store()
    const { key, record } = await newKey(writer, 'slow')
    const verifier = apiKeyVerifier({ store: slow })
    // Another session holds the table for 3 s: every read of it waits.
    const held = sql(
      `BEGIN; LOCK TABLE "${schema}".api_keys IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT`,
    )
    await eventually(
      async () =>
        (
          await sql(
            `SELECT 1 FROM pg_locks WHERE relation = '"${schema}".api_keys'::regclass AND mode = 'AccessExclusiveLock' AND granted`,
          )
        ).length > 0,
    )
    const started = Date.now()
    await expect(slow.find(record.id)).rejects.toMatchObject({ code: 'ERR_KEY_STORE_UNAVAILABLE' })
    expect(await outcome(verifier, key)).toBe('refused: store_unavailable')
    expect(Date.now() - started).toBeLessThan(2900) // well before the lock is released
    expect(slow.health()).toMatchObject({ state: 'failing', lastError: 'ERR_KEY_STORE_UNAVAILABLE' })
    await held
    expect(await outcome(verifier, key)).toBe('slow')
    expect(slow.health()).toMatchObject({ lastError: null })
    expect(slow.health().state).not.toBe('failing')
  })

  it('refuses while the database refuses connections, never crashes, and recovers by itself when it returns', async () => {
    const proxy = await tcpProxy(Number(new URL(DATABASE_URL).port || 5432))
    const url = new URL(DATABASE_URL)
    url.port = String(proxy.port)
    const behind = store({ timeoutMs: 500, minRetryMs: 50, maxRetryMs: 200 }, url.toString())
    const writer = store()
    await behind.ready()
    const clock = clockAt(Date.now())
    const verifier = apiKeyVerifier({ store: behind, clock, maxStaleMs: 1000 })
    const cached = await newKey(writer, 'cached')
    const uncached = await newKey(writer, 'uncached')
    expect(await outcome(verifier, cached.key)).toBe('cached')

    await proxy.stop()
    await eventually(() => behind.isStale())
    await expect(behind.find(uncached.record.id)).rejects.toMatchObject({ code: 'ERR_KEY_STORE_UNAVAILABLE' })
    await expect(behind.revoke(cached.record.id)).rejects.toMatchObject({ code: 'ERR_KEY_STORE_UNAVAILABLE' })
    expect(await outcome(verifier, uncached.key)).toBe('refused: store_unavailable')
    expect(behind.health()).toMatchObject({
      state: 'failing',
      listening: false,
      lastError: 'ERR_KEY_STORE_UNAVAILABLE',
    })
    clock.advance(1001)
    expect(await outcome(verifier, cached.key)).toBe('refused: store_unavailable')

    await proxy.start()
    await eventually(() => !behind.isStale())
    expect(await outcome(verifier, uncached.key)).toBe('uncached')
    expect(await outcome(verifier, cached.key)).toBe('cached')
    expect(behind.health()).toMatchObject({ state: 'listening', listening: true, lastError: null })
    await proxy.stop()
  })
})
