import { AuthError } from '@callsign/core'
import { generateSigningKey, jwtVerifier, mintToken } from '@callsign/jwt'
import {
  migrate,
  type PostgresFailureStore,
  type PostgresReplayStore,
  postgresFailureStore,
  postgresReplayStore,
} from '@callsign/store-postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  basic,
  type IssuerFixture,
  postTokenFrom,
  startIssuer,
} from '../../issuer/test/support/issuer-fixture.js'
import { DATABASE_URL, dropSchema, postgresReachable, testSchema } from './support/postgres.js'

const postgres = await postgresReachable('the PostgreSQL shared replay and lockout tests')
const schema = testSchema('shared')
/** Nothing listens on port 1: every connection is refused at once. */
const NOWHERE = 'postgres://postgres@127.0.0.1:1/test'
const open: (PostgresReplayStore | PostgresFailureStore | IssuerFixture)[] = []
beforeAll(async () => {
  if (postgres) await migrate(DATABASE_URL, { schema })
})
afterAll(async () => {
  for (const opened of open) await opened.close()
  if (postgres) await dropSchema(schema)
})
function tracked<T extends PostgresReplayStore | PostgresFailureStore | IssuerFixture>(opened: T): T {
  open.push(opened)
  return opened
}

async function outcome(verify: () => Promise<unknown>): Promise<string> {
  try {
    await verify()
    return 'accepted'
  } catch (error) {
    if (error instanceof AuthError) return error.reason
    throw error
  }
}

describe.skipIf(!postgres)('the shared JWT replay store', () => {
  const issuer = 'https://issuer.test'
  /** A one-time token (mintToken gives it a fresh jti). */
  const mint = (key: Awaited<ReturnType<typeof generateSigningKey>>) =>
    mintToken({ key, issuer, subject: 'billing', audience: 'orders', scopes: [], ttl: 60 })
  const replica = async (store: PostgresReplayStore, keys: Awaited<ReturnType<typeof generateSigningKey>>) =>
    jwtVerifier({ issuer, audience: 'orders', keys: [keys.publicJwk], replayProtection: { store } })

  it('refuses a token replayed to a second replica (its own connection pool), and again at the first', async () => {
    const key = await generateSigningKey()
    const first = await replica(tracked(postgresReplayStore(DATABASE_URL, { schema })), key)
    const second = await replica(tracked(postgresReplayStore(DATABASE_URL, { schema })), key)
    const token = await mint(key)
    expect(await outcome(() => first.verifyToken(token))).toBe('accepted')
    expect(await outcome(() => second.verifyToken(token))).toBe('replayed')
    expect(await outcome(() => first.verifyToken(token))).toBe('replayed') // from its token cache too
  })

  it('accepts a token sent to several replicas at the same moment exactly once', async () => {
    const key = await generateSigningKey()
    const replicas = await Promise.all(
      [1, 2, 3, 4].map(() => replica(tracked(postgresReplayStore(DATABASE_URL, { schema })), key)),
    )
    const token = await mint(key)
    const outcomes = await Promise.all(replicas.map((r) => outcome(() => r.verifyToken(token))))
    expect(outcomes.sort()).toEqual(['accepted', 'replayed', 'replayed', 'replayed'])
  })

  it('refuses every token while the database cannot be reached (fail closed)', async () => {
    const key = await generateSigningKey()
    const cut = await replica(tracked(postgresReplayStore(NOWHERE, { timeoutMs: 500 })), key)
    const token = await mint(key)
    expect(await outcome(() => cut.verifyToken(token))).toBe('replay_store_unavailable')
  })
})

describe.skipIf(!postgres)('the shared failed-authentication store', () => {
  const form = { grant_type: 'client_credentials', audience: 'orders' }
  const issuerWith = async (store: PostgresFailureStore) =>
    tracked(await startIssuer({ failedAuthentication: { burst: 3, perMinute: 1, store } }))

  it('throttles at a second issuer instance the address that failed at the first; other addresses are not', async () => {
    const a = await issuerWith(tracked(postgresFailureStore(DATABASE_URL, { schema })))
    const b = await issuerWith(tracked(postgresFailureStore(DATABASE_URL, { schema })))
    const { key, record } = await a.key('billing', ['orders:read'])
    const wrong = basic(record.id, `${key.slice(0, 17)}${'A'.repeat(43)}${key.slice(60)}`)
    for (let i = 0; i < 3; i++) {
      expect((await postTokenFrom('127.0.0.2', a.url, form, { authorization: wrong })).status).toBe(401)
    }
    const atB = await postTokenFrom('127.0.0.2', b.url, form, { authorization: wrong })
    expect(atB).toMatchObject({ status: 429, body: { error: 'invalid_client' } })
    expect(b.audit.at(-1)).toMatchObject({ decision: 'deny', reason: 'rate_limited' })
    expect((await postTokenFrom('127.0.0.3', b.url, form, { authorization: wrong })).status).toBe(401)
  })

  it('refuses token requests while the database cannot be reached: 503, never a token (fail closed)', async () => {
    const cut = await issuerWith(tracked(postgresFailureStore(NOWHERE, { timeoutMs: 500 })))
    const { key, record } = await cut.key('billing', ['orders:read'])
    const res = await postTokenFrom('127.0.0.4', cut.url, form, { authorization: basic(record.id, key) })
    expect(res).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable' } })
    expect(cut.audit.at(-1)).toMatchObject({ decision: 'deny', reason: 'limiter_unavailable' })
  })
})

describe('a shared-state store whose database cannot be reached', () => {
  it('names itself in the error, not the URL', async () => {
    const replay = tracked(postgresReplayStore(NOWHERE))
    const claimed = await replay.claim('jti-1', Date.now() + 60_000, Date.now()).catch((e: Error) => e)
    expect((claimed as Error).message).toMatch(/^the PostgreSQL replay store did not answer/)
    const failures = tracked(postgresFailureStore(NOWHERE))
    const rule = { name: 'client', burst: 5, perMinute: 10 }
    const failed = await failures.fail(rule, ['10.0.0.1'], Date.now()).catch((e: Error) => e)
    expect((failed as Error).message).toMatch(/^the PostgreSQL failure store did not answer/)
    for (const error of [claimed, failed]) expect(String((error as Error).message)).not.toContain('127.0.0.1')
  })
})
