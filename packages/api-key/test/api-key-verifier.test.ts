import { AuthError, ConfigError, createPipeline, definePolicy } from '@callsign/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { authRequest as request } from '../../../test/support/auth-request.js'
import {
  type ApiKeyRecord,
  apiKeyVerifier,
  createApiKey,
  type FileKeyStore,
  fileKeyStore,
  generateApiKey,
  type KeyStore,
  rotateApiKey,
  verifyApiKey,
} from '../src/index.js'
import { checksumOf } from '../src/lib/key-format.js'
import { activeRecord, writeBulkKeys, writeBulkStore } from './support/bulk-store.js'
import { manualClock, tempDir, turnsDuring } from './support.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
let tmp: Awaited<ReturnType<typeof tempDir>>
let store: FileKeyStore
let clock: ReturnType<typeof manualClock>
beforeEach(async () => {
  tmp = await tempDir()
  store = fileKeyStore(tmp.file('keys.json'), { watch: false })
  clock = manualClock()
})
afterEach(async () => {
  store.close()
  await tmp.remove()
})

const bearer = (key: string) => request({ authorization: `Bearer ${key}` })
const create = (options: Partial<Parameters<typeof createApiKey>[1]> = {}) =>
  createApiKey(store, { owner: 'billing', scopes: ['orders:read'], clock, ...options })
/** The refusal of a verification, whether the verifier threw at once or rejected later. */
const refusal = async (verification: () => unknown) => {
  const error = await (async () => verification())().then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AuthError)
  return error as AuthError
}

describe('apiKeyVerifier', () => {
  it('returns the caller for a valid key: id = owner, scopes, credentialId = key id, expiresAt, labels', async () => {
    const { key, record } = await create({ labels: { team: 'payments' } })
    const caller = await apiKeyVerifier({ store, clock }).verify(bearer(key))
    expect(caller).toMatchObject({ id: 'billing', kind: 'api-key', credentialId: record.id })
    expect([...caller!.scopes]).toEqual(['orders:read'])
    expect(caller!.expiresAt?.toISOString()).toBe(record.expiresAt)
    expect(caller!.attributes).toEqual({ labels: { team: 'payments' } })
    expect(JSON.stringify(caller)).not.toContain(key.slice(17, 60))
  })

  it('accepts the scheme in any case ("bearer") and the configured x-api-key header', async () => {
    const { key } = await create()
    const verifier = apiKeyVerifier({ store, clock, header: 'X-Api-Key' })
    expect((await verifier.verify(request({ authorization: `bearer ${key}` })))?.id).toBe('billing')
    expect((await verifier.verify(request({ 'x-api-key': key })))?.id).toBe('billing')
  })

  it('ignores the x-api-key header unless it is configured', async () => {
    const { key } = await create()
    expect(await apiKeyVerifier({ store, clock }).verify(request({ 'x-api-key': key }))).toBeNull()
  })

  it.each([
    ['no credential at all', {}],
    ['a JWT in the Bearer header', { authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln' }],
    ['an empty Bearer header', { authorization: 'Bearer' }],
    ['Basic credentials', { authorization: 'Basic dXNlcjpwYXNz' }],
  ])('returns null (not its kind) for %s', async (_case, headers) => {
    expect(await apiKeyVerifier({ store, clock, header: 'x-api-key' }).verify(request(headers))).toBeNull()
  })

  describe('the verifier table: 401 ERR_INVALID_CREDENTIAL with the reason for the audit log', () => {
    it.each([
      ['an unknown key', 'unknown_key'],
      ['a revoked key', 'revoked'],
      ['an expired key', 'expired'],
      ['a key with the right id but a wrong secret', 'wrong_secret'],
      ['a key with a broken checksum', 'checksum'],
      ['a truncated key', 'malformed'],
      ['a rotated key after its grace period', 'rotated'],
    ])('rejects %s (reason %s)', async (situation, reason) => {
      const { key, record } = await create({ expiresIn: 30 * DAY })
      let presented = key
      if (situation === 'an unknown key') presented = generateApiKey().key
      if (situation === 'a revoked key') await store.revoke(record.id)
      if (situation === 'an expired key') clock.advance(30 * DAY)
      if (situation === 'a key with the right id but a wrong secret') {
        const secret = generateApiKey().key.slice(17, 60)
        presented = `csk_${record.id}_${secret}${checksumOf('csk', record.id, secret)}`
      }
      if (situation === 'a key with a broken checksum')
        presented = `${key.slice(0, -1)}${key.endsWith('a') ? 'b' : 'a'}`
      if (situation === 'a truncated key') presented = key.slice(0, -2)
      if (situation === 'a rotated key after its grace period') {
        await rotateApiKey(store, record.id, { graceMs: HOUR, clock })
        clock.advance(HOUR)
      }
      const error = await refusal(() => apiKeyVerifier({ store, clock }).verify(bearer(presented)))
      expect(error.code).toBe('ERR_INVALID_CREDENTIAL')
      expect(error.reason).toBe(reason)
      expect(error.message).not.toContain(presented)
    })
  })

  it('accepts a rotated key within its grace period, and the new key with the same owner and scopes', async () => {
    const { key: old, record } = await create({ scopes: ['orders:read', 'orders:write'] })
    const rotated = await rotateApiKey(store, record.id, { clock })
    const verifier = apiKeyVerifier({ store, clock })
    clock.advance(23 * HOUR)
    const before = await verifier.verify(bearer(old))
    expect(before?.credentialId).toBe(record.id)
    expect(before?.expiresAt?.getTime()).toBe(Date.parse(rotated.previous.graceUntil!))
    const next = await verifier.verify(bearer(rotated.key))
    expect(next).toMatchObject({ id: 'billing', credentialId: rotated.record.id })
    expect([...next!.scopes]).toEqual(['orders:read', 'orders:write'])
    clock.advance(HOUR)
    expect((await refusal(() => verifier.verify(bearer(old)))).reason).toBe('rotated')
    expect((await verifier.verify(bearer(rotated.key)))?.id).toBe('billing')
  })

  it('never extends a rotated key past its own expiry (reason expired)', async () => {
    const { key, record } = await create({ expiresIn: 2 * HOUR })
    const { previous } = await rotateApiKey(store, record.id, { clock })
    expect(previous.graceUntil).toBe(record.expiresAt)
    clock.advance(2 * HOUR)
    expect((await refusal(() => apiKeyVerifier({ store, clock }).verify(bearer(key)))).reason).toBe('expired')
  })

  it('refuses to rotate a revoked or already rotated key with ERR_KEY_STATE', async () => {
    const { record } = await create()
    await rotateApiKey(store, record.id, { clock })
    await expect(rotateApiKey(store, record.id, { clock })).rejects.toMatchObject({ code: 'ERR_KEY_STATE' })
    const { record: other } = await create()
    await store.revoke(other.id)
    await expect(rotateApiKey(store, other.id, { clock })).rejects.toMatchObject({ code: 'ERR_KEY_STATE' })
    expect(await store.list()).toHaveLength(3) // no orphan key from a refused rotation
  })

  it('creates keys expiring in 90 days by default, and without expiry only when asked', async () => {
    const { record } = await create()
    expect(Date.parse(record.expiresAt!) - clock.now()).toBe(90 * DAY)
    const { key, record: forever } = await create({ expiresIn: 'never' })
    expect(forever.expiresAt).toBeNull()
    clock.advance(3650 * DAY)
    expect((await apiKeyVerifier({ store, clock }).verify(bearer(key)))?.expiresAt).toBeUndefined()
  })

  describe('with its cache warm', () => {
    it('refuses a revoked key at once (revoked through the same store)', async () => {
      const { key, record } = await create()
      const verifier = apiKeyVerifier({ store, clock })
      expect(await verifier.verify(bearer(key))).not.toBeNull()
      await store.revoke(record.id)
      expect((await refusal(() => verifier.verify(bearer(key)))).reason).toBe('revoked')
    })

    it('refuses a key the moment it expires, with no store change', async () => {
      const { key } = await create({ expiresIn: HOUR })
      const verifier = apiKeyVerifier({ store, clock })
      expect(await verifier.verify(bearer(key))).not.toBeNull()
      clock.advance(HOUR - 1)
      expect(await verifier.verify(bearer(key))).not.toBeNull()
      clock.advance(1)
      expect((await refusal(() => verifier.verify(bearer(key)))).reason).toBe('expired')
    })

    it('refuses a key revoked by another writer once the watching store reloads', async () => {
      const { key, record } = await create()
      const watching = fileKeyStore(store.path)
      try {
        const verifier = apiKeyVerifier({ store: watching, clock })
        expect(await verifier.verify(bearer(key))).not.toBeNull()
        await store.revoke(record.id)
        await vi.waitFor(
          async () => expect((await refusal(() => verifier.verify(bearer(key)))).reason).toBe('revoked'),
          {
            timeout: 3000,
          },
        )
      } finally {
        watching.close()
      }
    })

    it('answers a cached key synchronously, and still refuses its id with any other secret or checksum', async () => {
      const { key, record } = await create()
      const verifier = apiKeyVerifier({ store, clock })
      // the file store answers from memory: the first use is synchronous too
      expect(verifier.verify(bearer(key))).toMatchObject({ id: 'billing', credentialId: record.id })
      expect(verifier.verify(bearer(key))).toMatchObject({ id: 'billing', credentialId: record.id })
      // Same prefix and id, a well-formed secret with a valid checksum: only the secret is wrong.
      const secret = 'A'.repeat(43)
      const forged = `csk_${record.id}_${secret}${checksumOf('csk', record.id, secret)}`
      expect((await refusal(() => verifier.verify(bearer(forged)))).reason).toBe('wrong_secret')
      const lastChar = key.at(-1) === 'a' ? 'b' : 'a'
      expect((await refusal(() => verifier.verify(bearer(key.slice(0, -1) + lastChar)))).reason).toBe(
        'checksum',
      )
      // A near miss changes nothing for the key itself.
      expect(verifier.verify(bearer(key))).toMatchObject({ id: 'billing' })
    })

    it('serves repeated verifications from the cache, without a store lookup', async () => {
      const { key } = await create()
      const counted = countingStore(store)
      const verifier = apiKeyVerifier({ store: counted, clock })
      for (let i = 0; i < 20; i++) await verifier.verify(bearer(key))
      expect(counted.finds).toBe(1)
    })
  })

  it('lets random key ids reach the store at most lookupsPerSecond times (burst), then refuses them', async () => {
    const counted = countingStore(store)
    const verifier = apiKeyVerifier({ store: counted, clock, lookupsPerSecond: 10 })
    const reasons = new Map<string, number>()
    for (let i = 0; i < 200; i++) {
      const error = await refusal(() => verifier.verify(bearer(generateApiKey().key)))
      reasons.set(error.reason, (reasons.get(error.reason) ?? 0) + 1)
    }
    expect(counted.finds).toBeLessThanOrEqual(12)
    expect(reasons.get('lookup_rate_limited')).toBeGreaterThanOrEqual(188)
  })

  it('looks an unknown id up once, not on every request', async () => {
    const counted = countingStore(store)
    const verifier = apiKeyVerifier({ store: counted, clock })
    const { key } = generateApiKey()
    for (let i = 0; i < 5; i++)
      expect((await refusal(() => verifier.verify(bearer(key)))).reason).toBe('unknown_key')
    expect(counted.finds).toBe(1)
  })

  describe('over the in-memory file store', () => {
    it('never refuses a key in the store for lookup budget: 1 000 keys, a cache of 100, a flood of random ids', async () => {
      const keys = await writeBulkKeys(tmp.file('bulk.json'), 1000)
      const bulk = fileKeyStore(tmp.file('bulk.json'), { watch: false })
      const verifier = apiKeyVerifier({ store: bulk, cacheSize: 100, lookupsPerSecond: 1 })
      for (let i = 0; i < 300; i++) {
        expect((await refusal(() => verifier.verify(bearer(generateApiKey().key)))).reason).toBe(
          'unknown_key',
        )
      }
      const refused = new Map<string, number>()
      for (const key of keys) {
        await Promise.resolve(verifier.verify(bearer(key))).catch((error: AuthError) =>
          refused.set(error.reason, (refused.get(error.reason) ?? 0) + 1),
        )
      }
      expect(Object.fromEntries(refused)).toEqual({})
      bulk.close()
    })

    it('evicts only the changed ids on a reload: a revoke elsewhere refuses that key, the others stay cached', async () => {
      const keys = await writeBulkKeys(tmp.file('bulk.json'), 3)
      const service = fileKeyStore(tmp.file('bulk.json'), { watch: false })
      const counted = countingStore(service, { local: true })
      const verifier = apiKeyVerifier({ store: counted })
      for (const key of keys) await verifier.verify(bearer(key))
      const lookups = counted.finds
      const ids = keys.map((key) => key.slice(4, 16))
      const changes: (readonly string[] | undefined)[] = []
      service.onChange((changed) => changes.push(changed))
      await fileKeyStore(tmp.file('bulk.json'), { watch: false }).revoke(ids[0]!)
      expect(service.reload()).toBe(true)
      expect(changes).toEqual([[ids[0]]])
      expect((await refusal(() => verifier.verify(bearer(keys[0]!)))).reason).toBe('revoked')
      expect(await verifier.verify(bearer(keys[1]!))).toMatchObject({ credentialId: ids[1] })
      expect(await verifier.verify(bearer(keys[2]!))).toMatchObject({ credentialId: ids[2] })
      expect(counted.finds).toBe(lookups + 1) // only the revoked key was looked up again
      service.close()
    })

    it('accepts a key created by another process as soon as its write returned, though its id was just refused as unknown', async () => {
      const service = fileKeyStore(tmp.file('keys.json'), { watch: false })
      const verifier = apiKeyVerifier({ store: service })
      const generated = generateApiKey()
      expect((await refusal(() => verifier.verify(bearer(generated.key)))).reason).toBe('unknown_key')
      await fileKeyStore(tmp.file('keys.json'), { watch: false }).create(
        activeRecord(generated.id, generated.secretHash),
      )
      expect(await verifier.verify(bearer(generated.key))).toMatchObject({ credentialId: generated.id })
      service.close()
    })

    it('reads a store that changed on disk in the background for an id it does not hold: the event loop turns meanwhile', async () => {
      const path = tmp.file('keys.json')
      await writeBulkStore(path, 2000)
      const service = fileKeyStore(path, { watch: false })
      const verifier = apiKeyVerifier({ store: service })
      const generated = generateApiKey()
      await fileKeyStore(path, { watch: false }).create(activeRecord(generated.id, generated.secretHash))
      const { result, turns } = await turnsDuring(async () => {
        const answer = verifier.verify(bearer(generated.key))
        expect(answer).toBeInstanceOf(Promise) // not a synchronous read of the whole file
        return answer
      })
      expect(result).toMatchObject({ credentialId: generated.id })
      expect(turns).toBeGreaterThan(0)
      // from memory from now on, synchronously
      expect(verifier.verify(bearer(generated.key))).toMatchObject({ credentialId: generated.id })
      service.close()
    })
  })

  describe('bad input: 400 or 401, never a secret echoed back', () => {
    it.each([
      [
        'Authorization and x-api-key together',
        (k: string) => ({ authorization: `Bearer ${k}`, 'x-api-key': k }),
        'ERR_AMBIGUOUS_REQUEST',
      ],
      ['two x-api-key headers', (k: string) => ({ 'x-api-key': [k, k] }), 'ERR_AMBIGUOUS_REQUEST'],
      [
        'two Authorization headers',
        (k: string) => ({ authorization: [`Bearer ${k}`, `Bearer ${k}`] }),
        'ERR_AMBIGUOUS_REQUEST',
      ],
      [
        'two keys in one Bearer value',
        (k: string) => ({ authorization: `Bearer ${k} ${k}` }),
        'ERR_INVALID_CREDENTIAL',
      ],
      [
        'two keys comma-joined in x-api-key',
        (k: string) => ({ 'x-api-key': `${k}, ${k}` }),
        'ERR_INVALID_CREDENTIAL',
      ],
      [
        'a key under the Basic scheme',
        (k: string) => ({ authorization: `Basic ${k}` }),
        'ERR_INVALID_CREDENTIAL',
      ],
      [
        'a key with two spaces after Bearer',
        (k: string) => ({ authorization: `Bearer  ${k}` }),
        'ERR_INVALID_CREDENTIAL',
      ],
      [
        'a key with a trailing space',
        (k: string) => ({ authorization: `Bearer ${k} ` }),
        'ERR_INVALID_CREDENTIAL',
      ],
      ['a key with a tab', (k: string) => ({ authorization: `Bearer\t${k}` }), 'ERR_INVALID_CREDENTIAL'],
      ['an empty x-api-key', () => ({ 'x-api-key': '' }), 'ERR_INVALID_CREDENTIAL'],
      [
        'a non-ASCII character in the key',
        (k: string) => ({ authorization: `Bearer ${k.slice(0, -1)}é` }),
        'ERR_INVALID_CREDENTIAL',
      ],
      [
        'an oversized key',
        (k: string) => ({ authorization: `Bearer ${k}${'A'.repeat(64 * 1024)}` }),
        'ERR_INVALID_CREDENTIAL',
      ],
    ])('refuses %s with %s', async (_case, headers, code) => {
      const { key } = await create()
      const pipeline = createPipeline({
        policy: definePolicy({ routes: { 'GET /orders/:id': ['orders:read'] } }),
        verifiers: [apiKeyVerifier({ store, clock, header: 'x-api-key' })],
      })
      const decision = await pipeline.decide(request(headers(key)))
      expect(decision.allowed).toBe(false)
      if (decision.allowed) return
      expect(decision.error.code).toBe(code)
      expect(JSON.stringify({ ...decision.error, message: decision.error.message })).not.toContain(
        key.slice(17, 60),
      )
    })
  })

  it.each([
    ['no store', {}, /store/],
    ['an invalid header name', { header: 'x api key' }, /header/],
    ['authorization as the extra header', { header: 'authorization' }, /header/],
    ['an upper-case prefix', { prefix: 'CSK' }, /prefix/],
    ['a cacheSize of 0', { cacheSize: 0 }, /cacheSize/],
    ['a negative lookupsPerSecond', { lookupsPerSecond: -1 }, /lookupsPerSecond/],
  ])('throws a ConfigError at startup for %s', (_case, options, message) => {
    const full = { store, ...options } as Parameters<typeof apiKeyVerifier>[0]
    if (_case === 'no store') delete (full as { store?: unknown }).store
    expect(() => apiKeyVerifier(full)).toThrow(ConfigError)
    expect(() => apiKeyVerifier(full)).toThrow(message)
  })
})

describe('verifyApiKey', () => {
  it('resolves to the caller for a valid key and rejects a revoked one (reason revoked), without a cache', async () => {
    const { key, record } = await create()
    expect((await verifyApiKey(store, key, { clock })).credentialId).toBe(record.id)
    await store.revoke(record.id)
    expect((await refusal(() => verifyApiKey(store, key, { clock }))).reason).toBe('revoked')
    expect((await refusal(() => verifyApiKey(store, 'csk_nope', { clock }))).reason).toBe('malformed')
  })
})

/**
 * The real store, with its lookups counted (a wrapper, not a mock). Without `local` it hides the
 * store's in-memory `findLocal`, standing for a store where a lookup costs something (a database).
 */
function countingStore(inner: KeyStore, { local = false } = {}): KeyStore & { finds: number } {
  const counted = {
    finds: 0,
    find(id: string): Promise<ApiKeyRecord | undefined> {
      counted.finds++
      return inner.find(id)
    },
    ...(local && inner.findLocal
      ? {
          findLocal(id: string) {
            counted.finds++
            return inner.findLocal!(id)
          },
        }
      : {}),
    create: inner.create.bind(inner),
    update: inner.update.bind(inner),
    list: inner.list.bind(inner),
    revoke: inner.revoke.bind(inner),
    ...(inner.onChange ? { onChange: inner.onChange.bind(inner) } : {}),
  }
  return counted
}
