import { execFileSync } from 'node:child_process'
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { createApiKey, type FileKeyStore, fileKeyStore } from '@callsign/api-key'
import { createDevCerts, type DevCerts } from '../../adapters/support/dev-certs.js'

/** The real material every attack suite runs against: a key store file, a JWT key pair, a CA. */
export interface SecurityCredentials {
  readonly dir: string
  readonly storePath: string
  readonly store: FileKeyStore
  /** API keys in the store: a reader (orders:read), a writer (read + write), a revoked one. */
  readonly keys: { readonly reader: string; readonly writer: string; readonly revoked: string }
  readonly jwt: {
    readonly issuer: string
    readonly audience: string
    readonly jwk: Record<string, unknown>
    readonly privateKey: KeyObject
    readonly publicKey: KeyObject
    /** A valid token: sub `jwt-reader` with orders:read (`over` replaces or, with undefined, removes claims). */
    token(over?: Record<string, unknown>, header?: Record<string, unknown>, key?: KeyObject): string
    /** A second accepted issuer with its own key (kid `p1`), configured for that issuer alone. */
    readonly partner: {
      readonly issuer: string
      readonly jwk: Record<string, unknown>
      readonly privateKey: KeyObject
    }
  }
  readonly certs: DevCerts
  /** A client certificate signed by the test CA (or a stranger CA) with the given extensions. */
  cert(name: string, ext: string, options?: { readonly untrusted?: boolean; readonly days?: number }): Pair
  /** Every secret the suite handed out: none may ever appear in a response or an audit event. */
  readonly secrets: () => readonly string[]
}

export interface Pair {
  readonly key: Buffer
  readonly cert: Buffer
}

export const TRUST_DOMAIN = 'mesh.local'
export const SPIFFE_READER = 'spiffe://mesh.local/ns/prod/sa/reader'
export const SPIFFE_WRITER = 'spiffe://mesh.local/ns/prod/sa/writer'

export const b64url = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** Signs a compact JWS by hand so a row can build any header, hostile ones included. */
export function signJws(header: Record<string, unknown>, payload: unknown, key: KeyObject): string {
  const input = `${b64url(header)}.${b64url(payload)}`
  const signature =
    key.asymmetricKeyType === 'ec'
      ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', Buffer.from(input), key)
  return `${input}.${signature.toString('base64url')}`
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
}

/** Builds the material in a fresh temporary folder. Call once per test file. */
export async function securityCredentials(): Promise<SecurityCredentials> {
  const dir = mkdtempSync(join(tmpdir(), 'callsign-security-'))
  const storePath = join(dir, 'keys.json')
  const store = fileKeyStore(storePath)
  const reader = await createApiKey(store, { owner: 'key-reader', scopes: ['orders:read'] })
  const writer = await createApiKey(store, { owner: 'key-writer', scopes: ['orders:read', 'orders:write'] })
  const revoked = await createApiKey(store, { owner: 'key-revoked', scopes: ['orders:read'] })
  await store.revoke(revoked.record.id)

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as object), kid: 'k1', alg: 'ES256', use: 'sig' }
  const partnerPair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const partner = {
    issuer: 'https://partner.test',
    jwk: { ...(partnerPair.publicKey.export({ format: 'jwk' }) as object), kid: 'p1', alg: 'ES256' },
    privateKey: partnerPair.privateKey,
  }
  const issuer = 'https://issuer.test'
  const audience = 'orders'
  const issued: string[] = []
  const token = (
    over: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
    key = privateKey,
  ) => {
    const now = Math.floor(Date.now() / 1000)
    const claims: Record<string, unknown> = {
      iss: issuer,
      sub: 'jwt-reader',
      aud: audience,
      iat: now,
      exp: now + 300,
      scope: 'orders:read',
      jti: `j-${issued.length}`,
    }
    for (const [name, value] of Object.entries(over)) {
      if (value === undefined) delete claims[name]
      else claims[name] = value
    }
    const jws = signJws({ alg: 'ES256', typ: 'JWT', kid: 'k1', ...header }, claims, key)
    issued.push(jws)
    return jws
  }

  const certs = createDevCerts()
  let n = 0
  const cert = (name: string, ext: string, options: { untrusted?: boolean; days?: number } = {}): Pair => {
    const base = `sec-${name.replace(/\W+/g, '-')}-${n++}`
    const ca = options.untrusted ? 'stranger' : 'ca'
    openssl(certs.dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${base}.key`])
    openssl(certs.dir, [
      'req',
      '-new',
      '-key',
      `${base}.key`,
      '-subj',
      `/CN=${name.replaceAll('/', '\\/')}`,
      '-out',
      `${base}.csr`,
    ])
    // '#' starts a comment in an openssl config file: escape it so the SAN keeps it
    writeFileSync(join(certs.dir, `${base}.ext`), ext.replaceAll('#', '\\#'))
    openssl(certs.dir, [
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      String(options.days ?? 2),
      '-extfile',
      `${base}.ext`,
      '-out',
      `${base}.crt`,
    ])
    return {
      key: readFileSync(join(certs.dir, `${base}.key`)),
      cert: readFileSync(join(certs.dir, `${base}.crt`)),
    }
  }

  return {
    dir,
    storePath,
    store,
    keys: { reader: reader.key, writer: writer.key, revoked: revoked.key },
    jwt: { issuer, audience, jwk, privateKey, publicKey, token, partner },
    certs,
    cert,
    secrets: () => [
      reader.key,
      writer.key,
      revoked.key,
      // the secret part of each key alone, in case something logs it without the id
      ...[reader.key, writer.key, revoked.key].map((key) => key.slice(key.lastIndexOf('_') + 1)),
      ...issued,
      ...issued.map((jws) => jws.slice(jws.lastIndexOf('.') + 1)).filter((s) => s.length > 16),
      certs.serverKey.toString('utf8'),
    ],
  }
}

/** A client certificate extension block: SANs and extended key usage. */
export const ext = (san: string | null, eku = 'clientAuth', extra = '') =>
  `${san ? `subjectAltName=${san}\n` : ''}${eku ? `extendedKeyUsage=${eku}\n` : ''}${extra}`

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/**
 * Completes `<prefix>_<id>_<secret>` with a valid checksum, so a row can test what lies behind the
 * checksum (a right id with a wrong secret, a forged id). Written from the documented format
 * (CRC-32 in 6 base62 digits), not from the package's code.
 */
export function withChecksum(body: string): string {
  let sum = crc32(Buffer.from(body, 'latin1'))
  let out = ''
  for (let i = 0; i < 6; i++) {
    out = BASE62[sum % 62] + out
    sum = Math.floor(sum / 62)
  }
  return body + out
}
