import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { apiKeyVerifier } from '@callsign/api-key'
import { AuthError } from '@callsign/core'
import { postgresKeyStore } from '@callsign/store-postgres'
import { describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../../../test/support/run-cli.js'
import { DATABASE_URL, eventually, sql } from '../../store-postgres/test/support/postgres.js'
import { testDatabase } from '../../store-postgres/test/support/test-database.js'

const { postgres, schema } = await testDatabase('the CLI on a PostgreSQL key store', 'cli')
const url = `${DATABASE_URL}?schema=${schema}`

const KEY = /^csk_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}$/

describe.skipIf(!postgres)('callsign keys and store on PostgreSQL', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('refuses keys commands before `store migrate`, then migrates once and again', async () => {
    const early = await runCli(['keys', 'list', '--store', url])
    expect(early.code).toBe(1)
    expect(early.stderr).toBe(
      'callsign keys list: the PostgreSQL key store has no tables: it has not been migrated (`migrate()`); run `callsign store migrate --store <url>`\n',
    )

    const first = await runCli(['store', 'migrate', '--store', url])
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/applied versions 1, 2; now at schema version 2/)
    const again = await runCli(['store', 'migrate'], { env: { CALLSIGN_KEY_STORE: url } })
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/already at schema version 2/)
  })

  it('creates, lists, shows, rotates and revokes keys through CALLSIGN_KEY_STORE; the database holds only hashes', async () => {
    const env = { CALLSIGN_KEY_STORE: url }
    const created = await runCli(
      ['keys', 'create', '--owner', 'billing', '--scope', 'orders:read', '--json'],
      { env },
    )
    expect(created.code).toBe(0)
    const { id, key } = JSON.parse(created.stdout) as { id: string; key: string }
    expect(key).toMatch(KEY)
    expect(JSON.stringify(await sql(`SELECT * FROM "${schema}".api_keys`))).not.toContain(key.slice(-49))

    const listed = await runCli(['keys', 'list', '--json', '--store', url])
    expect(JSON.parse(listed.stdout).keys.map((r: { id: string }) => r.id)).toContain(id)
    expect((await runCli(['keys', 'show', id], { env })).stdout).toMatch(/billing/)

    const rotated = await runCli(['keys', 'rotate', id, '--grace', '1h', '--json'], { env })
    expect(rotated.code).toBe(0)
    const next = JSON.parse(rotated.stdout) as { id: string; key: string }

    const store = postgresKeyStore(url)
    try {
      const verifier = apiKeyVerifier({ store })
      const request = {
        transport: 'http' as const,
        method: 'GET',
        route: '/orders',
        header: (name: string) => (name === 'authorization' ? [`Bearer ${next.key}`] : []),
      }
      expect((await verifier.verify(request))?.id).toBe('billing')
      expect((await runCli(['keys', 'revoke', next.id], { env })).code).toBe(0)
      // the revocation reaches this verifier as a notification, a moment after the command exits
      await eventually(async () => {
        const outcome = await Promise.resolve()
          .then(() => verifier.verify(request))
          .catch((error: unknown) => error)
        return outcome instanceof AuthError && outcome.reason === 'revoked'
      })
    } finally {
      await store.close()
    }
  })

  it('store copy moves a file store into PostgreSQL (hashes only); run again, it copies nothing twice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'callsign-copy-'))
    try {
      const file = join(dir, 'keys.json')
      const made = await runCli([
        'keys',
        'create',
        '--owner',
        'copied',
        '--scope',
        'orders:read',
        '--label',
        'b=2',
        '--label',
        'a=1',
        '--json',
        '--store',
        file,
      ])
      const { id, key } = JSON.parse(made.stdout) as { id: string; key: string }
      const first = await runCli(['store', 'copy', '--from', file, '--to', url])
      expect(first.code).toBe(0)
      expect(first.stdout).toMatch(/1 copied, 0 already there/)
      const again = await runCli(['store', 'copy', '--from', file, '--to', url])
      expect(again.stdout).toMatch(/0 copied, 1 already there/)
      expect(again.code).toBe(0)
      expect(
        JSON.stringify(await sql(`SELECT * FROM "${schema}".api_keys WHERE id = $1`, [id])),
      ).not.toContain(key.slice(-49))
      const store = postgresKeyStore(url, { listen: false })
      try {
        const caller = await apiKeyVerifier({ store }).verify({
          transport: 'http',
          method: 'GET',
          route: '/orders',
          header: (name: string) => (name === 'authorization' ? [`Bearer ${key}`] : []),
        })
        expect(caller?.id).toBe('copied')
      } finally {
        await store.close()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('says `store migrate` needs a postgres:// URL (exit 2), and never prints the password', async () => {
    expect((await runCli(['store', 'migrate', '--store', 'keys.json'])).code).toBe(2)
    const withPassword = new URL(url)
    withPassword.password = 'hunter2-secret'
    const result = await runCli(['store', 'migrate', '--store', withPassword.toString()])
    expect(`${result.stdout}${result.stderr}`).not.toContain('hunter2-secret')
  })
})

describe('callsign on a PostgreSQL key store that cannot be reached', {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  it('says why in words, once, with no URL in the message', async () => {
    const unreachable = 'postgres://postgres:hunter2@127.0.0.1:1/test'
    const result = await runCli(['keys', 'list', '--store', unreachable])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      'callsign keys list: the PostgreSQL key store did not answer (connection refused)\n',
    )
  })
})
