import { mkdtemp, rm } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type CreatedApiKey, createApiKey, type FileKeyStore, fileKeyStore } from '@callsign/api-key'
import type { AuditEvent } from '@callsign/core'
import { createIssuer, type Issuer, type IssuerOptions } from '@callsign/issuer'
import { createKeyDir } from '@callsign/jwt'

/** A clock the test moves by hand. */
export function manualClock(start = Date.now()) {
  let now = start
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
  }
}

export interface IssuerFixture {
  readonly dir: string
  readonly keysDir: string
  readonly store: FileKeyStore
  readonly issuer: Issuer
  /** The origin the issuer listens on (`http://127.0.0.1:<port>`). */
  readonly url: string
  /** The issuer URL (the `iss` claim). */
  readonly issuerUrl: string
  readonly audit: AuditEvent[]
  key(owner: string, scopes: readonly string[]): Promise<CreatedApiKey>
  close(): Promise<void>
}

/**
 * A real issuer on 127.0.0.1 over a real key directory and key store in a temporary folder. By
 * default its issuer URL is `http://issuer.test` and it listens on any free port; with `at`, its
 * issuer URL is its own address plus that path (`''` or `/tenant1`), so standard clients can
 * discover it.
 */
export async function startIssuer(
  options: Partial<IssuerOptions> = {},
  own?: { readonly at: string },
): Promise<IssuerFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'callsign-issuer-'))
  const keysDir = join(dir, 'keys')
  await createKeyDir(keysDir)
  const store = fileKeyStore(join(dir, 'clients.json'), { watch: false })
  const audit: AuditEvent[] = []
  const scheme = options.https ? 'https' : 'http'
  const start = async (port: number, issuerUrl: string) => {
    const issuer = await createIssuer({
      issuer: issuerUrl,
      keys: keysDir,
      store,
      audiences: ['orders', 'inventory'],
      audit: (event) => audit.push(event),
      ...options,
    })
    try {
      const address = await issuer.listen({ port, host: '127.0.0.1' })
      return { issuer, port: address.port, issuerUrl }
    } catch (error) {
      await issuer.close()
      throw error
    }
  }
  let started: Awaited<ReturnType<typeof start>> | undefined
  if (own === undefined) started = await start(0, options.issuer ?? 'http://issuer.test')
  // The URL must be known before the issuer exists: take a free port, then listen on it. Another
  // process may take it in between; then try another.
  for (let attempt = 0; started === undefined; attempt++) {
    const port = await freePort()
    try {
      started = await start(port, `${scheme}://127.0.0.1:${port}${own?.at ?? ''}`)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 10) throw error
    }
  }
  const { issuer, port, issuerUrl } = started
  return {
    dir,
    keysDir,
    store,
    issuer,
    url: `${scheme}://127.0.0.1:${port}`,
    issuerUrl,
    audit,
    key: (owner, scopes) => createApiKey(store, { owner, scopes }),
    async close() {
      await issuer.close()
      store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** POSTs a form to the token endpoint and returns status, headers and parsed body. */
export async function postToken(
  url: string,
  form: Record<string, string> | string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown>; text: string }> {
  const body = typeof form === 'string' ? form : new URLSearchParams(form).toString()
  const response = await fetch(`${url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  })
  const text = await response.text()
  let parsed: Record<string, unknown> = {}
  try {
    parsed = JSON.parse(text) as Record<string, unknown>
  } catch {
    parsed = {}
  }
  return { status: response.status, headers: response.headers, body: parsed, text }
}

/**
 * POSTs a form to the token endpoint from another loopback address (Linux routes all of
 * 127.0.0.0/8 to lo), so the issuer sees a different remote address.
 */
export function postTokenFrom(
  localAddress: string,
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = new URLSearchParams(form).toString()
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}/oauth2/token`,
      {
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`

/** The claims of a JWT, without verifying it (the verifying tests use jwtVerifier). */
export function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >
}
export function header(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >
}
