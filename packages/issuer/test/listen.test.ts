import { mkdtemp, rm } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileKeyStore } from '@callsign/api-key'
import { ConfigError } from '@callsign/core'
import { createIssuer, type Issuer } from '@callsign/issuer'
import { createKeyDir } from '@callsign/jwt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let dir: string
const options = async () => ({
  issuer: 'http://issuer.test',
  keys: join(dir, 'keys'),
  store: fileKeyStore(join(dir, 'clients.json'), { watch: false }),
  audiences: ['orders'],
  watchKeys: false,
})

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-issuer-listen-'))
  await createKeyDir(join(dir, 'keys'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

/** One GET over a kept-alive connection; resolves to the status, with the connection left open. */
function getKeptAlive(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: new Agent({ keepAlive: true }) }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('Issuer: listen and close', () => {
  it('has only listen, jwks, reloadKeys and close: no Fastify app to reach into', async () => {
    const issuer = await createIssuer(await options())
    try {
      expect(Object.keys(issuer).sort()).toEqual(['close', 'jwks', 'listen', 'reloadKeys'])
      expect(Object.isFrozen(issuer)).toBe(true)
    } finally {
      await issuer.close()
    }
  })

  it('listens on the address asked, resolves to the port it got, and stops serving on close', async () => {
    const issuer: Issuer = await createIssuer(await options())
    let closed = false
    try {
      const address = await issuer.listen({ port: 0, host: '127.0.0.1' })
      expect(address).toMatchObject({ address: '127.0.0.1', family: 'IPv4' })
      expect(address.port).toBeGreaterThan(0)
      const url = `http://127.0.0.1:${address.port}/healthz`
      expect((await fetch(url)).status).toBe(200)
      // A kept-alive idle connection does not hold close() up.
      expect(await getKeptAlive(url)).toBe(200)
      await issuer.close()
      closed = true
      await expect(fetch(url)).rejects.toThrow()
    } finally {
      if (!closed) await issuer.close()
    }
  })

  it('refuses a port or host that is not one with a ConfigError, listening nowhere', async () => {
    const issuer = await createIssuer(await options())
    try {
      for (const where of [
        { port: -1 },
        { port: 65_536 },
        { port: 1.5 },
        { port: '8443' },
        { port: 0, host: '' },
      ]) {
        await expect(issuer.listen(where as never)).rejects.toThrow(ConfigError)
      }
      await expect(issuer.listen(undefined as never)).rejects.toThrow(/"port" must be/)
    } finally {
      await issuer.close()
    }
  })

  it('listens on loopback by default', async () => {
    const issuer = await createIssuer(await options())
    try {
      const { address } = await issuer.listen({ port: 0 })
      expect(['127.0.0.1', '::1']).toContain(address)
    } finally {
      await issuer.close()
    }
  })
  it('closes a kept-alive connection whose request was under way at close, once it is answered', async () => {
    const issuer = await createIssuer(await options())
    const { port } = await issuer.listen({ port: 0, host: '127.0.0.1' })
    // A token request whose body is half sent when close() starts: its connection is not idle
    // then, and becomes idle (kept alive) only once answered.
    const body = 'grant_type=client_credentials'
    const socket = connect(port, '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    let answer = ''
    socket.on('data', (chunk) => {
      answer += chunk
    })
    socket.write(
      `POST /oauth2/token HTTP/1.1\r\nhost: issuer.test\r\nconnection: keep-alive\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    )
    await new Promise((resolve) => setTimeout(resolve, 200))
    const started = Date.now()
    const closing = issuer.close()
    socket.write(body.slice(5))
    await closing
    // Fastify keeps a connection alive for 72 s: a close held up by it would take that long.
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(answer).toMatch(/^HTTP\/1\.1 401 /)
    socket.destroy()
  })
})
