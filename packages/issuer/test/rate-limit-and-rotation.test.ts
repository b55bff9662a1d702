import { rotateKeyDir } from '@callsign/jwt'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type FailureStore, memoryFailureStore } from '../src/index.js'
import {
  basic,
  header,
  type IssuerFixture,
  manualClock,
  postToken,
  postTokenFrom,
  startIssuer,
} from './support/issuer-fixture.js'

let fx: IssuerFixture | undefined
afterEach(async () => {
  await fx?.close()
  fx = undefined
})

const form = { grant_type: 'client_credentials', audience: 'orders' }

describe('failed client authentications are rate limited', () => {
  it('answers 429 invalid_client with Retry-After once the address has failed its burst, even with the right key', async () => {
    const clock = manualClock()
    fx = await startIssuer({ clock, failedAuthentication: { burst: 3, perMinute: 6 } })
    const { key } = await fx.key('billing', ['orders:read'])
    const wrong = `${key.slice(0, 17)}${'A'.repeat(43)}${key.slice(60)}`
    for (let i = 0; i < 3; i++) {
      expect((await postToken(fx.url, form, { authorization: `Bearer ${wrong}` })).status).toBe(401)
    }
    const limited = await postToken(fx.url, form, { authorization: `Bearer ${key}` })
    expect(limited.status).toBe(429)
    expect(limited.body.error).toBe('invalid_client')
    expect(limited.headers.get('retry-after')).toBe('10')
    expect(fx.audit.at(-1)).toMatchObject({ decision: 'deny', reason: 'rate_limited' })

    clock.advance(10_000) // one failure forgiven
    expect((await postToken(fx.url, form, { authorization: `Bearer ${key}` })).status).toBe(200)
  })

  it('throttles the address that guessed, never the client id elsewhere: its owner from another address is served', async () => {
    fx = await startIssuer({ failedAuthentication: { burst: 3, perMinute: 1 } })
    const { key, record } = await fx.key('billing', ['orders:read'])
    const wrong = `${key.slice(0, 17)}${'A'.repeat(43)}${key.slice(60)}`
    const attacker = '127.0.0.2'
    for (let i = 0; i < 5; i++) {
      const res = await postTokenFrom(attacker, fx.url, form, { authorization: basic(record.id, wrong) })
      expect(res.status).toBe(i < 3 ? 401 : 429)
    }
    // The attacker is throttled for this client id, even with the right key …
    const attackerRight = await postTokenFrom(attacker, fx.url, form, {
      authorization: basic(record.id, key),
    })
    expect(attackerRight).toMatchObject({ status: 429, body: { error: 'invalid_client' } })
    // … and the owner, from its own address, is checked and served, with each method.
    const owner = await postTokenFrom('127.0.0.1', fx.url, form, { authorization: basic(record.id, key) })
    expect(owner.status).toBe(200)
    const post = await postTokenFrom('127.0.0.3', fx.url, {
      ...form,
      client_id: record.id,
      client_secret: key,
    })
    expect(post.status).toBe(200)
  })

  it('throttles an address that fails across many client ids (the address bucket)', async () => {
    fx = await startIssuer({ failedAuthentication: { burst: 2, perMinute: 1, addressBurst: 4 } })
    const keys = await Promise.all(['a', 'b', 'c'].map((owner) => fx!.key(owner, ['orders:read'])))
    const wrongFor = (key: string) => `${key.slice(0, 17)}${'A'.repeat(43)}${key.slice(60)}`
    const statuses: number[] = []
    for (const { key, record } of keys) {
      for (let i = 0; i < 2; i++) {
        const res = await postTokenFrom('127.0.0.2', fx.url, form, {
          authorization: basic(record.id, wrongFor(key)),
        })
        statuses.push(res.status)
      }
    }
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429])
    const third = keys[2]!
    expect(
      (await postTokenFrom('127.0.0.1', fx.url, form, { authorization: basic(third.record.id, third.key) }))
        .status,
    ).toBe(200)
  })

  it('does not count refusals that are not client authentication (invalid_scope)', async () => {
    fx = await startIssuer({ failedAuthentication: { burst: 1, perMinute: 1 } })
    const { key } = await fx.key('billing', ['orders:read'])
    for (let i = 0; i < 3; i++) {
      const res = await postToken(
        fx.url,
        { ...form, scope: 'orders:write' },
        { authorization: `Bearer ${key}` },
      )
      expect(res.body.error).toBe('invalid_scope')
    }
    expect((await postToken(fx.url, form, { authorization: `Bearer ${key}` })).status).toBe(200)
  })

  it('says a failure store that cannot record a failure to the logger once, and again after it recovered and failed anew; the answer stays 401', async () => {
    // A stand-in for a shared store that stops writing (a database failing over): the memory
    // store, whose fail() throws while `broken`.
    const memory = memoryFailureStore({ maxTracked: 100 })
    let broken = true
    const store: FailureStore = {
      retryAfter: (rule, keys, now) => memory.retryAfter(rule, keys, now),
      fail: (rule, keys, now) => {
        if (broken) throw Object.assign(new Error('connection terminated'), { code: 'ECONNRESET' })
        return memory.fail(rule, keys, now)
      },
    }
    const warnings: unknown[][] = []
    const emitted = vi.spyOn(process, 'emitWarning')
    try {
      fx = await startIssuer({
        failedAuthentication: { burst: 20, perMinute: 1, store },
        logger: { warn: (...args: unknown[]) => warnings.push(args) },
      })
      const { key } = await fx.key('billing', ['orders:read'])
      const wrong = `${key.slice(0, 17)}${'A'.repeat(43)}${key.slice(60)}`
      const guess = async () => (await postToken(fx!.url, form, { authorization: `Bearer ${wrong}` })).status
      for (let i = 0; i < 3; i++) expect(await guess()).toBe(401)
      expect(warnings).toEqual([
        [
          { code: 'CALLSIGN_FAILURE_STORE' },
          'issuer: the failed-authentication store did not record a failure (ECONNRESET); said once until it records one again',
        ],
      ])
      broken = false
      expect(await guess()).toBe(401)
      broken = true
      for (let i = 0; i < 2; i++) expect(await guess()).toBe(401)
      expect(warnings).toHaveLength(2)
      expect(JSON.stringify(warnings)).not.toContain(wrong.slice(17, 60))
      expect(
        emitted.mock.calls.filter(([, options]) =>
          JSON.stringify(options)?.includes('CALLSIGN_FAILURE_STORE'),
        ),
      ).toEqual([])
    } finally {
      emitted.mockRestore()
    }
  })
})

describe('signing-key rotation with overlap', () => {
  const kids = async (url: string) =>
    ((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map(
      (key) => key.kid,
    )
  const signedWith = async (fixture: IssuerFixture, key: string) =>
    header(
      (await postToken(fixture.url, form, { authorization: `Bearer ${key}` })).body.access_token as string,
    ).kid

  it('publishes a new key before it signs, keeps the old one until its last token expired, then drops it', async () => {
    const clock = manualClock()
    fx = await startIssuer({ clock, watchKeys: false, ttl: 300 })
    const { key } = await fx.key('billing', ['orders:read'])
    const [first] = await kids(fx.url)

    const published = await rotateKeyDir(fx.keysDir, { step: 'publish' })
    expect(await fx.issuer.reloadKeys()).toBe(true)
    expect(await kids(fx.url)).toEqual([first, published.nextKid])
    expect(await signedWith(fx, key)).toBe(first) // published, not yet signing

    await rotateKeyDir(fx.keysDir, { step: 'promote' })
    await fx.issuer.reloadKeys()
    expect(await kids(fx.url)).toEqual([published.nextKid, first])
    expect(await signedWith(fx, key)).toBe(published.nextKid)

    clock.advance(300_000 + 59_000) // the old key's last token is still within lifetime + tolerance
    expect(await kids(fx.url)).toEqual([published.nextKid, first])
    clock.advance(2_000)
    expect(await kids(fx.url)).toEqual([published.nextKid])
  })

  it('keeps publishing a key the directory dropped by two quick promotions while its tokens live', async () => {
    const clock = manualClock()
    fx = await startIssuer({ clock, watchKeys: false })
    const [first] = await kids(fx.url)
    await rotateKeyDir(fx.keysDir)
    await fx.issuer.reloadKeys()
    const second = await rotateKeyDir(fx.keysDir)
    await fx.issuer.reloadKeys()
    // The directory now holds the second and third keys only; the first still has live tokens.
    expect(second.publicJwks.keys.map((jwk) => jwk.kid)).not.toContain(first)
    expect(await kids(fx.url)).toContain(first)
    clock.advance(361_000)
    expect(await kids(fx.url)).not.toContain(first)
  })

  it('reloads the key directory by itself when it changes (callsign jwks rotate --publish)', async () => {
    fx = await startIssuer({})
    const published = await rotateKeyDir(fx.keysDir, { step: 'publish' })
    await expect.poll(() => kids(fx!.url), { timeout: 5_000, interval: 50 }).toContain(published.nextKid)
  })

  it('keeps the last good keys when the directory becomes unreadable, and reports it', async () => {
    const { writeFile } = await import('node:fs/promises')
    const { join } = await import('node:path')
    const errors: Error[] = []
    fx = await startIssuer({ watchKeys: false, onKeysError: (error) => errors.push(error) })
    const { key } = await fx.key('billing', ['orders:read'])
    const before = await kids(fx.url)
    await writeFile(join(fx.keysDir, 'state.json'), '{ not json')
    for (let i = 0; i < 5; i++) expect(await fx.issuer.reloadKeys()).toBe(false)
    expect(errors.length).toBeGreaterThanOrEqual(1)
    expect(await kids(fx.url)).toEqual(before)
    expect(await signedWith(fx, key)).toBe(before[0])
  })
})
