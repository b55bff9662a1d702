import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type ApiKeyRecord,
  apiKeyVerifier,
  createApiKey,
  fileKeyStore,
  type KeyStore,
  rotateApiKey,
} from '@callsign/api-key'
import { AuthError } from '@callsign/core'
import { migrate, postgresKeyStore } from '@callsign/store-postgres'
import { afterAll, describe, expect, it } from 'vitest'
import {
  DATABASE_URL,
  dropSchema,
  eventually,
  postgresReachable,
  sql,
  testSchema,
} from './support/postgres.js'

/** One store under test: two handles on the same storage (two replicas) and the stored bytes. */
interface Backend {
  readonly store: KeyStore
  readonly replica: KeyStore & { onChange(listener: (ids?: readonly string[]) => void): () => void }
  /** Everything the storage holds, as text, to look for secrets in. */
  stored(): Promise<string>
  close(): Promise<void>
}

const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup()
})

async function fileBackend(): Promise<Backend> {
  const dir = await mkdtemp(join(tmpdir(), 'callsign-contract-'))
  const file = join(dir, 'keys.json')
  const store = fileKeyStore(file)
  const replica = fileKeyStore(file)
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return {
    store,
    replica,
    stored: () => readFile(file, 'utf8').catch(() => ''),
    async close() {
      store.close()
      replica.close()
    },
  }
}

async function postgresBackend(): Promise<Backend> {
  const schema = testSchema('contract')
  cleanups.push(() => dropSchema(schema))
  await migrate(DATABASE_URL, { schema })
  const store = postgresKeyStore(DATABASE_URL, { schema })
  const replica = postgresKeyStore(DATABASE_URL, { schema })
  await Promise.all([store.ready(), replica.ready()])
  return {
    store,
    replica,
    stored: async () => JSON.stringify(await sql(`SELECT * FROM "${schema}".api_keys`)),
    async close() {
      await Promise.all([store.close(), replica.close()])
    },
  }
}

const scopes = ['orders:read']
const create = (store: KeyStore, owner = 'billing') => createApiKey(store, { owner, scopes })
const sorted = (records: readonly ApiKeyRecord[]) => [...records].sort((a, b) => a.id.localeCompare(b.id))
const request = (key: string) => ({
  transport: 'http' as const,
  method: 'GET',
  route: '/orders',
  header: (name: string) => (name === 'authorization' ? [`Bearer ${key}`] : []),
})

/** The store contract: every case runs against the file store and the PostgreSQL store alike. */
const cases: { name: string; run: (backend: Backend) => Promise<void> }[] = [
  {
    name: 'finds a created record, equal field for field, from another replica too',
    async run({ store, replica }) {
      const { record } = await create(store)
      expect(await store.find(record.id)).toEqual(record)
      await eventually(async () => (await replica.find(record.id)) !== undefined)
      expect(await replica.find(record.id)).toEqual(record)
    },
  },
  {
    name: 'answers undefined for an unknown or malformed id',
    async run({ store }) {
      expect(await store.find('AAAAAAAAAAAA')).toBeUndefined()
      expect(await store.find("x' OR '1'='1")).toBeUndefined()
    },
  },
  {
    name: 'refuses a second record with the same id with ERR_KEY_EXISTS, keeping the first',
    async run({ store }) {
      const { record } = await create(store)
      await expect(store.create({ ...record, owner: 'intruder' })).rejects.toMatchObject({
        code: 'ERR_KEY_EXISTS',
      })
      expect((await store.find(record.id))?.owner).toBe('billing')
    },
  },
  {
    name: 'refuses an invalid record with ERR_INVALID_KEY_RECORD and writes nothing',
    async run({ store }) {
      const { record } = await create(store)
      const bad = { ...record, id: 'BBBBBBBBBBBB', secretHash: 'plaintext' }
      await expect(store.create(bad)).rejects.toMatchObject({ code: 'ERR_INVALID_KEY_RECORD' })
      expect(await store.find('BBBBBBBBBBBB')).toBeUndefined()
    },
  },
  {
    name: 'updates a record from its freshest copy; an unknown id is ERR_KEY_NOT_FOUND',
    async run({ store }) {
      const { record } = await create(store)
      const updated = await store.update(record.id, (current) => ({
        ...current,
        labels: { team: 'payments' },
      }))
      expect(updated.labels).toEqual({ team: 'payments' })
      expect(await store.find(record.id)).toEqual(updated)
      await expect(store.update('CCCCCCCCCCCC', (r) => r)).rejects.toMatchObject({
        code: 'ERR_KEY_NOT_FOUND',
      })
    },
  },
  {
    name: 'refuses an update that changes the id or breaks the record, leaving it as it was',
    async run({ store }) {
      const { record } = await create(store)
      await expect(store.update(record.id, (r) => ({ ...r, id: 'DDDDDDDDDDDD' }))).rejects.toMatchObject({
        code: 'ERR_INVALID_KEY_RECORD',
      })
      await expect(store.update(record.id, (r) => ({ ...r, scopes: ['nonsense'] }))).rejects.toMatchObject({
        code: 'ERR_INVALID_KEY_RECORD',
      })
      expect(await store.find(record.id)).toEqual(record)
    },
  },
  {
    name: 'revokes a key with revokedAt; revoking again keeps it; an unknown id is ERR_KEY_NOT_FOUND',
    async run({ store }) {
      const { record } = await create(store)
      const revoked = await store.revoke(record.id)
      expect(revoked).toMatchObject({ state: 'revoked', revokedAt: expect.any(String) })
      expect(await store.revoke(record.id)).toEqual(revoked)
      expect(await store.find(record.id)).toEqual(revoked)
      await expect(store.revoke('EEEEEEEEEEEE')).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' })
    },
  },
  {
    name: 'lists every record',
    async run({ store }) {
      const made = [await create(store, 'a'), await create(store, 'b'), await create(store, 'c')]
      expect(sorted(await store.list())).toEqual(sorted(made.map((m) => m.record)))
    },
  },
  {
    name: 'rotates a key: a new key for the same owner, the old one pointing to it',
    async run({ store }) {
      const { record } = await create(store)
      const rotated = await rotateApiKey(store, record.id, { graceMs: 60_000 })
      expect(rotated.record).toMatchObject({ owner: 'billing', rotatedFrom: record.id })
      expect(await store.find(record.id)).toMatchObject({ rotatedTo: rotated.record.id })
      await expect(rotateApiKey(store, record.id)).rejects.toMatchObject({ code: 'ERR_KEY_STATE' })
    },
  },
  {
    name: 'tells another replica exactly which id changed',
    async run({ store, replica }) {
      const { record } = await create(store)
      const seen: (readonly string[] | undefined)[] = []
      const stop = replica.onChange((ids) => seen.push(ids))
      await store.revoke(record.id)
      await eventually(() => seen.some((ids) => ids?.includes(record.id)))
      stop()
      expect(seen.filter((ids) => ids === undefined)).toEqual([])
    },
  },
  {
    name: "a replica's verifier refuses a key revoked through another replica, and keeps others warm",
    async run({ store, replica }) {
      const revokedKey = await create(store, 'leaked')
      const otherKey = await create(store, 'fine')
      const verifier = apiKeyVerifier({ store: replica })
      await eventually(async () => {
        try {
          await verifier.verify(request(revokedKey.key))
          await verifier.verify(request(otherKey.key))
          return true
        } catch {
          return false
        }
      })
      await store.revoke(revokedKey.record.id)
      await eventually(async () => {
        try {
          await verifier.verify(request(revokedKey.key))
          return false
        } catch (error) {
          return error instanceof AuthError && error.reason === 'revoked'
        }
      })
      expect((await verifier.verify(request(otherKey.key)))?.id).toBe('fine')
    },
  },
  {
    name: 'never stores the plaintext key or its secret, only its SHA-256',
    async run({ store, stored }) {
      const { key, record } = await create(store)
      const text = await stored()
      expect(text).toContain(record.secretHash.slice(7))
      expect(text).not.toContain(key)
      expect(text).not.toContain(key.slice(-20))
    },
  },
]

const postgres = await postgresReachable('the PostgreSQL key store contract')

describe.each([
  { kind: 'file store', backend: fileBackend, skip: false },
  { kind: 'PostgreSQL store', backend: postgresBackend, skip: !postgres },
])('the key store contract on the $kind', ({ backend, skip }) => {
  it.skipIf(skip).each(cases)('$name', async ({ run }) => {
    const under = await backend()
    try {
      await run(under)
    } finally {
      await under.close()
    }
  })
})
