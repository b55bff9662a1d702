import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { apiKeyVerifier, fileKeyStore } from '@callsign/api-key'
import { type ConfigError, watchPolicyFile } from '@callsign/core'
import { afterEach, describe, expect, it } from 'vitest'
import { securityCredentials } from '../security/support/credentials.js'
import { expressTarget, type Target } from '../security/support/targets.js'

// The key store file deleted, corrupted or replaced while a protected server runs, and a policy
// file replaced by an invalid one. Real files in a temporary folder, the real watchers, a real
// Express server. The store's own reload tests are in packages/api-key/test/file-key-store.test.ts.

/**
 * Resolves once `check` holds. Gives up after 5 s with `what` (a liveness bound, not a speed
 * assertion: the watchers poll every 500 ms).
 */
async function until(check: () => boolean, what = 'the watcher to react'): Promise<void> {
  const deadline = Date.now() + 5000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 25))
  }
}

const bearer = (key: string) => ({ headers: [['authorization', `Bearer ${key}`]] as [string, string][] })
const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

async function keyServer() {
  const creds = await securityCredentials()
  const events = { reloads: 0, errors: [] as ConfigError[] }
  const store = fileKeyStore(creds.storePath, {
    onReload: () => events.reloads++,
    onError: (error) => events.errors.push(error),
  })
  const target = await expressTarget(creds, [apiKeyVerifier({ store })])
  cleanup.push(
    () => creds.store.close(),
    () => store.close(),
    () => target.close(),
  )
  return { creds, store, target, events }
}

async function expectAnswers(target: Target, key: string, status: number) {
  const outcome = await target.send(bearer(key))
  expect(outcome.status).toBe(status)
  return outcome
}

describe('the key store file changed under a running server', () => {
  it('keeps the last good keys when the store is corrupted in place: valid 200, revoked 401, never a 5xx', async () => {
    const { creds, target, events } = await keyServer()
    await expectAnswers(target, creds.keys.reader, 200)
    writeFileSync(creds.storePath, '{"version":1,"keys":[{"id":') // a torn write
    await until(() => events.errors.length > 0)
    expect(events.errors[0]!.message).not.toContain(creds.keys.reader)
    await expectAnswers(target, creds.keys.reader, 200)
    await expectAnswers(target, creds.keys.revoked, 401)
    writeFileSync(creds.storePath, 'null')
    await until(() => events.errors.length > 1)
    await expectAnswers(target, creds.keys.writer, 200)
    await expectAnswers(target, creds.keys.revoked, 401)
  })

  it('keeps the last good keys when the store file is deleted, and refuses revoked ones still', async () => {
    const { creds, target, events } = await keyServer()
    rmSync(creds.storePath)
    await until(() => events.errors.length > 0)
    await expectAnswers(target, creds.keys.reader, 200)
    await expectAnswers(target, creds.keys.revoked, 401)
  })

  it('applies a store replaced by rename (another writer revokes the reader): 401 for the reader at once after reload', async () => {
    const { creds, target, events } = await keyServer()
    await expectAnswers(target, creds.keys.reader, 200)
    const other = fileKeyStore(creds.storePath, { watch: false })
    await other.revoke(creds.keys.reader.split('_')[1]!)
    await until(() => events.reloads > 0)
    const refused = await expectAnswers(target, creds.keys.reader, 401)
    expect(refused.code).toBe('ERR_INVALID_CREDENTIAL')
    await expectAnswers(target, creds.keys.writer, 200)
  })

  it('refuses every key once the store is replaced by an empty valid store (deleting keys revokes them)', async () => {
    const { creds, target, events } = await keyServer()
    const next = join(creds.dir, 'next.json')
    writeFileSync(next, JSON.stringify({ version: 1, keys: [] }), { mode: 0o600 })
    renameSync(next, creds.storePath)
    await until(() => events.reloads > 0)
    await expectAnswers(target, creds.keys.reader, 401)
    await expectAnswers(target, creds.keys.writer, 401)
  })
})

describe('a policy file replaced while the server runs', () => {
  async function policyServer() {
    const creds = await securityCredentials()
    const path = join(creds.dir, 'policy.yaml')
    const good = [
      'routes:',
      "  'GET /orders/:id': [orders:read]",
      "  'POST /orders': [orders:write]",
      "  'DELETE /orders/:id': [orders:write]",
      "  'GET /api/reports': [orders:write]",
      "  'GET /healthz': public",
      '',
    ].join('\n')
    writeFileSync(path, good)
    const events = { reloads: 0, errors: [] as ConfigError[] }
    const watcher = watchPolicyFile(path, {
      onReload: () => events.reloads++,
      onError: (error) => events.errors.push(error),
    })
    const target = await expressTarget(creds, [apiKeyVerifier({ store: creds.store })], watcher)
    cleanup.push(
      () => creds.store.close(),
      () => watcher.close(),
      () => target.close(),
    )
    const replace = (text: string) => {
      writeFileSync(`${path}.tmp`, text)
      renameSync(`${path}.tmp`, path)
    }
    return { creds, target, events, replace, good }
  }

  const invalidPolicies: [string, string][] = [
    ['not YAML at all', 'routes: [unclosed\n'],
    ['a wildcard scope', "routes:\n  'GET /orders/:id': ['orders:*']\n"],
    ['an empty scope list', "routes:\n  'GET /orders/:id': []\n"],
    ['a HEAD entry', "routes:\n  'HEAD /orders/:id': public\n"],
    ['an unknown field', "routes:\n  'GET /orders/:id': public\nopen: true\n"],
    ['duplicate keys', "routes:\n  'GET /orders/:id': [orders:read]\n  'GET /orders/:id': public\n"],
  ]

  it('keeps the last good policy when the file is replaced by an invalid one, for every kind of mistake', async () => {
    const { creds, target, events, replace } = await policyServer()
    for (const [name, text] of invalidPolicies) {
      const before = events.errors.length
      replace(text)
      await until(() => events.errors.length > before, `the policy watcher to refuse ${name}`)
      // still protected: anonymous refused, reader allowed to read and refused to write
      const anon = await target.send({})
      expect({ name, status: anon.status }).toEqual({ name, status: 401 })
      await expectAnswers(target, creds.keys.reader, 200)
      const write = await target.send({ method: 'POST', path: '/orders', ...bearer(creds.keys.reader) })
      expect({ name, status: write.status }).toEqual({ name, status: 403 })
    }
    expect(events.reloads).toBe(0)
    expect(target.handlerRuns()).toBe(invalidPolicies.length)
  })

  it('applies a valid replacement at once: a route dropped from the policy answers 403 ERR_ROUTE_NOT_IN_POLICY', async () => {
    const { creds, target, events, replace } = await policyServer()
    replace("routes:\n  'GET /healthz': public\n")
    await until(() => events.reloads > 0)
    const outcome = await expectAnswers(target, creds.keys.writer, 403)
    expect(outcome.code).toBe('ERR_ROUTE_NOT_IN_POLICY')
    expect(target.handlerRuns()).toBe(0)
  })
})
