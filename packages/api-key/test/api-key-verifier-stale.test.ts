import { AuthError, ConfigError } from '@callsign/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { authRequest as request } from '../../../test/support/auth-request.js'
import { type ApiKeyRecord, apiKeyVerifier, createApiKey, fileKeyStore, type KeyStore } from '../src/index.js'
import { manualClock, tempDir } from './support.js'

let dir: Awaited<ReturnType<typeof tempDir>>
beforeEach(async () => {
  dir = await tempDir()
})
afterEach(async () => {
  await dir.remove()
})

/**
 * The real file store behind a database-like face: lookups counted, no in-memory `findLocal`, no
 * notifications delivered, and an `isStale` flag the test sets, as a store that lost its listening
 * connection reports it.
 */
function staleableStore(path: string) {
  const inner = fileKeyStore(path, { watch: false })
  const store = {
    stale: false,
    finds: 0,
    find(id: string): Promise<ApiKeyRecord | undefined> {
      store.finds++
      inner.reload()
      return inner.find(id)
    },
    create: inner.create.bind(inner),
    update: inner.update.bind(inner),
    list: inner.list.bind(inner),
    revoke: inner.revoke.bind(inner),
    onChange: () => () => {},
    isStale: () => store.stale,
  }
  return store satisfies KeyStore
}

async function reason(promise: unknown): Promise<string> {
  try {
    await promise
    return 'accepted'
  } catch (error) {
    return error instanceof AuthError ? (error.reason ?? 'no reason') : 'not an AuthError'
  }
}

describe('apiKeyVerifier while the store reports itself stale (maxStaleMs)', () => {
  it('trusts a cached record for maxStaleMs after it was read, then reads it again and sees a missed revocation', async () => {
    const store = staleableStore(dir.file('keys.json'))
    const clock = manualClock(Date.now())
    const verifier = apiKeyVerifier({ store, clock, maxStaleMs: 2000 })
    const { key, record } = await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })
    expect(await reason(verifier.verify(request({ authorization: `Bearer ${key}` })))).toBe('accepted')
    expect(store.finds).toBe(1)

    store.stale = true
    await store.revoke(record.id) // no notification reaches the verifier
    clock.advance(2000)
    expect(await reason(verifier.verify(request({ authorization: `Bearer ${key}` })))).toBe('accepted')
    expect(store.finds).toBe(1)
    clock.advance(1)
    expect(await reason(verifier.verify(request({ authorization: `Bearer ${key}` })))).toBe('revoked')
    expect(store.finds).toBe(2)
  })

  it('keeps using a cached record without a lookup while the store is not stale', async () => {
    const store = staleableStore(dir.file('keys.json'))
    const clock = manualClock(Date.now())
    const verifier = apiKeyVerifier({ store, clock, maxStaleMs: 2000 })
    const { key } = await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })
    await verifier.verify(request({ authorization: `Bearer ${key}` }))
    clock.advance(60_000)
    expect(await reason(verifier.verify(request({ authorization: `Bearer ${key}` })))).toBe('accepted')
    expect(store.finds).toBe(1)
  })

  it('rejects a negative or non-numeric maxStaleMs with ConfigError at startup', () => {
    const store = staleableStore(dir.file('keys.json'))
    expect(() => apiKeyVerifier({ store, maxStaleMs: -1 })).toThrow(ConfigError)
    expect(() => apiKeyVerifier({ store, maxStaleMs: Number.NaN })).toThrow(ConfigError)
  })
})
