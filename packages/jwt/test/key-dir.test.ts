import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '@callsign/core'
import { describe, expect, it } from 'vitest'
import {
  createKeyDir,
  jwtVerifier,
  keyDirWatchFiles,
  mintToken,
  readKeyDir,
  readKeyDirJwks,
  rotateKeyDir,
} from '../src/index.js'

const ISS = 'https://issuer.test'
const newDir = async () => join(await mkdtemp(join(tmpdir(), 'callsign-jwt-')), 'keys')
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi']

const mintWith = async (dir: string) =>
  mintToken({
    key: (await readKeyDir(dir)).current,
    issuer: ISS,
    subject: 'billing',
    audience: 'orders',
    scopes: ['orders:read'],
    ttl: 300,
  })

const verifierFor = async (dir: string) =>
  jwtVerifier({
    issuer: ISS,
    audience: 'orders',
    keys: JSON.parse(await readFile(join(dir, 'jwks.json'), 'utf8')),
  })

describe('key directories', () => {
  it('creates a key dir whose private key file is mode 0600 and whose public set has no private member', async () => {
    const dir = await newDir()
    const created = await createKeyDir(dir, { alg: 'ES256' })
    const file = join(dir, 'private', `${created.current.kid}.json`)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const published = JSON.parse(await readFile(join(dir, 'jwks.json'), 'utf8')) as {
      keys: Record<string, unknown>[]
    }
    expect(published.keys.map((key) => key.kid)).toEqual([created.current.kid])
    for (const key of published.keys)
      for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member)
    for (const key of created.publicJwks.keys)
      for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member)
  })

  it('keeps RSA private members out of the public set too', async () => {
    const dir = await newDir()
    await createKeyDir(dir, { alg: 'RS256' })
    const text = await readFile(join(dir, 'jwks.json'), 'utf8')
    for (const member of PRIVATE_MEMBERS) expect(text).not.toContain(`"${member}"`)
  })

  it('refuses to create over an existing key dir (ConfigError)', async () => {
    const dir = await newDir()
    await createKeyDir(dir)
    await expect(createKeyDir(dir)).rejects.toThrow(ConfigError)
  })

  it('mints tokens that verify against the published set (round trip)', async () => {
    const dir = await newDir()
    await createKeyDir(dir)
    const caller = await (await verifierFor(dir)).verifyToken(await mintWith(dir))
    expect(caller).toMatchObject({ id: 'billing', kind: 'jwt' })
    expect([...caller.scopes]).toEqual(['orders:read'])
  })

  it('rotates: publishes the current and previous keys, signs with the new one, and removes the key before', async () => {
    const dir = await newDir()
    const first = await createKeyDir(dir)
    const oldToken = await mintWith(dir)
    const second = await rotateKeyDir(dir)
    expect(second.current.kid).not.toBe(first.current.kid)
    expect(second.previousKid).toBe(first.current.kid)
    expect(second.publicJwks.keys.map((key) => key.kid)).toEqual([second.current.kid, first.current.kid])
    const verifier = await verifierFor(dir)
    expect((await verifier.verifyToken(oldToken)).id).toBe('billing')
    expect((await verifier.verifyToken(await mintWith(dir))).id).toBe('billing')

    const third = await rotateKeyDir(dir)
    expect(third.publicJwks.keys.map((key) => key.kid)).toEqual([third.current.kid, second.current.kid])
    expect((await readdir(join(dir, 'private'))).sort()).toEqual(
      [`${third.current.kid}.json`, `${second.current.kid}.json`].sort(),
    )
    await expect((await verifierFor(dir)).verifyToken(oldToken)).rejects.toMatchObject({
      reason: 'unknown_kid',
    })
  })

  it('publishes a next key before signing with it, then promotes it', async () => {
    const dir = await newDir()
    const first = await createKeyDir(dir)
    const published = await rotateKeyDir(dir, { step: 'publish' })
    expect(published.current.kid).toBe(first.current.kid)
    expect(published.nextKid).not.toBeNull()
    expect(published.publicJwks.keys.map((key) => key.kid)).toEqual([first.current.kid, published.nextKid])
    await expect(rotateKeyDir(dir, { step: 'publish' })).rejects.toThrow(/promote it first/)
    const promoted = await rotateKeyDir(dir, { step: 'promote' })
    expect(promoted.current.kid).toBe(published.nextKid)
    expect(promoted.previousKid).toBe(first.current.kid)
    await expect(rotateKeyDir(dir, { step: 'promote' })).rejects.toThrow(/publish one first/)
  })

  it('refuses a private key file readable by others (ConfigError naming chmod 600)', async () => {
    const dir = await newDir()
    const created = await createKeyDir(dir)
    await chmod(join(dir, 'private', `${created.current.kid}.json`), 0o644)
    await expect(readKeyDir(dir)).rejects.toThrow(/chmod 600/)
  })

  it('refuses a directory that is not a key dir (ConfigError), in words that name no CLI command', async () => {
    const dir = await newDir()
    const error = await readKeyDir(dir).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toBe(`${dir} is not a key directory (no state.json)`)
    await expect(rotateKeyDir(dir)).rejects.toThrow(/^[^ ]+ is not a key directory \(no state.json\)$/)
  })

  it('reads the public set alone (readKeyDirJwks): the keys readKeyDir publishes, no private file read', async () => {
    const dir = await newDir()
    await createKeyDir(dir)
    await rotateKeyDir(dir, { step: 'publish' })
    const { publicJwks } = await readKeyDir(dir)
    // A verifier's copy may hold no private key file at all.
    await rm(join(dir, 'private'), { recursive: true })
    expect(await readKeyDirJwks(dir)).toEqual(publicJwks)
  })

  it('refuses with readKeyDirJwks a directory with no public set, and a set with a private member', async () => {
    const dir = await newDir()
    await expect(readKeyDirJwks(dir)).rejects.toThrow(`${dir} is not a key directory (no jwks.json)`)
    await createKeyDir(dir)
    const jwk = (await readKeyDir(dir)).current.privateKey.export({ format: 'jwk' })
    await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }))
    await expect(readKeyDirJwks(dir)).rejects.toThrow(/is not a public key set/)
    await writeFile(join(dir, 'jwks.json'), '{')
    await expect(readKeyDirJwks(dir)).rejects.toThrow(ConfigError)
  })

  it('names the files a rotation rewrites (keyDirWatchFiles): one of them changes at each step', async () => {
    const dir = await newDir()
    await createKeyDir(dir)
    const files = keyDirWatchFiles(dir)
    const contents = () => Promise.all(files.map((file) => readFile(file, 'utf8')))
    for (const step of ['publish', 'promote', 'rotate'] as const) {
      const before = await contents()
      await rotateKeyDir(dir, { step })
      const after = await contents()
      expect(after.every((text, i) => text === before[i])).toBe(false)
    }
  })
})

describe('mintToken', () => {
  it('throws ConfigError for a ttl over a day or a registered claim in claims', async () => {
    const dir = await newDir()
    const { current } = await createKeyDir(dir)
    const base = { key: current, issuer: ISS, subject: 'billing', audience: 'orders', scopes: [] }
    await expect(mintToken({ ...base, ttl: 86_401 })).rejects.toThrow(/"ttl"/)
    await expect(mintToken({ ...base, ttl: 60, claims: { exp: 1 } })).rejects.toThrow(/"exp"/)
  })
})
