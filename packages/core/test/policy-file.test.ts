import { mkdtempSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadPolicyFile, watchPolicyFile } from '../src/index.js'

const dir = () => mkdtempSync(join(tmpdir(), 'callsign-policy-'))

function until(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) resolve()
      else if (Date.now() > deadline) reject(new Error('condition not met in time'))
      else setTimeout(tick, 20)
    }
    tick()
  })
}

describe('loadPolicyFile', () => {
  it('reads a YAML policy', () => {
    const file = join(dir(), 'policy.yaml')
    writeFileSync(file, "routes:\n  'GET /orders/:id': [orders:read]\n  'GET /healthz': public\n")
    const policy = loadPolicyFile(file)
    expect(policy.requirement('http', 'GET', '/orders/:id')?.scopes).toEqual(['orders:read'])
    expect(policy.requirement('http', 'GET', '/healthz')?.public).toBe(true)
  })

  it('reads a JSON policy', () => {
    const file = join(dir(), 'policy.json')
    writeFileSync(file, JSON.stringify({ routes: { '/shop.v1.Inventory/Reserve': ['inventory:reserve'] } }))
    expect(loadPolicyFile(file).requirement('grpc', 'POST', '/shop.v1.Inventory/Reserve')).toBeDefined()
  })

  it('rejects a duplicate key instead of silently keeping the last', () => {
    const file = join(dir(), 'policy.json')
    writeFileSync(file, '{"routes": {"GET /a": ["a:read"], "GET /a": "public"}}')
    expect(() => loadPolicyFile(file)).toThrow(/not valid JSON or YAML/)
  })

  it('names the file and the offending key of an invalid policy', () => {
    const file = join(dir(), 'policy.yaml')
    writeFileSync(file, "routes:\n  'GET /x': []\n")
    expect(() => loadPolicyFile(file)).toThrow(ConfigError)
    expect(() => loadPolicyFile(file)).toThrow(`${file}: policy route "GET /x" has an empty scope list`)
  })

  it('fails clearly on a missing file', () => {
    expect(() => loadPolicyFile(join(dir(), 'absent.yaml'))).toThrow(/cannot read policy file/)
  })
})

describe('watchPolicyFile', () => {
  it('picks up a changed file, and keeps the last good policy when the new one is invalid', async () => {
    const folder = dir()
    const file = join(folder, 'policy.yaml')
    writeFileSync(file, "routes:\n  'GET /a': [a:read]\n")
    const errors: string[] = []
    const watcher = watchPolicyFile(file, { onError: (error) => errors.push(error.message) })
    try {
      expect(watcher.current.requirement('http', 'GET', '/b')).toBeUndefined()

      // an atomic replace, as editors and config management do it
      writeFileSync(join(folder, 'next.yaml'), "routes:\n  'GET /a': [a:read]\n  'GET /b': [b:read]\n")
      renameSync(join(folder, 'next.yaml'), file)
      await until(() => watcher.current.requirement('http', 'GET', '/b') !== undefined)

      writeFileSync(file, "routes:\n  'GET /a': [not a scope]\n")
      await until(() => errors.length > 0)
      expect(errors[0]).toContain('malformed scope')
      expect(watcher.current.requirement('http', 'GET', '/b')?.scopes).toEqual(['b:read'])
    } finally {
      watcher.close()
    }
  })

  it('throws at startup when the first load is invalid', () => {
    const file = join(dir(), 'policy.yaml')
    writeFileSync(file, 'routes: [1, 2]\n')
    expect(() => watchPolicyFile(file)).toThrow(ConfigError)
  })
})
