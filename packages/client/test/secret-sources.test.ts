import { mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { apiKeyCredentials, envSecret, fileSecret, type SecretSource } from '@callsign/client'
import { ConfigError } from '@callsign/core'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'

let dir: string
const open: SecretSource[] = []
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-client-secret-'))
})
afterEach(() => {
  for (const source of open.splice(0)) source.close()
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const track = (source: SecretSource) => {
  open.push(source)
  return source
}
let n = 0
async function secretFile(content: string) {
  const path = join(dir, `secret-${++n}`)
  await writeFile(path, content)
  return path
}

describe('fileSecret', () => {
  it('reads the file and trims the trailing line break', async () => {
    const source = track(fileSecret(await secretFile('csk_abc_123\r\n')))
    expect(source.value()).toBe('csk_abc_123')
  })

  it('throws ConfigError naming the file for an empty file at startup', async () => {
    const path = await secretFile('\n')
    expect(() => fileSecret(path)).toThrow(ConfigError)
    expect(() => fileSecret(path)).toThrow(`secret file ${path} is empty`)
  })

  it('throws ConfigError naming the file for a missing file at startup', () => {
    const path = join(dir, 'nope')
    expect(() => fileSecret(path)).toThrow(`cannot read secret file ${path}`)
  })

  it('picks up a secret file rotated by rename, without a restart', async () => {
    const path = await secretFile('old-secret\n')
    const source = track(fileSecret(path))
    await writeFile(`${path}.tmp`, 'new-secret\n')
    await rename(`${path}.tmp`, path)
    await vi.waitFor(() => expect(source.value()).toBe('new-secret'), { timeout: 5_000, interval: 20 })
  })

  it('follows a Kubernetes-style symlink swap of the data folder', async () => {
    const volume = join(dir, 'volume')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(join(volume, '..v1'), { recursive: true })
    await mkdir(join(volume, '..v2'), { recursive: true })
    await writeFile(join(volume, '..v1', 'key'), 'v1-secret')
    await writeFile(join(volume, '..v2', 'key'), 'v2-secret')
    await symlink('..v1', join(volume, '..data'))
    await symlink('..data/key', join(volume, 'key'))
    const source = track(fileSecret(join(volume, 'key')))
    expect(source.value()).toBe('v1-secret')
    await symlink('..v2', join(volume, '..data_tmp'))
    await rename(join(volume, '..data_tmp'), join(volume, '..data'))
    await vi.waitFor(() => expect(source.value()).toBe('v2-secret'), { timeout: 5_000, interval: 20 })
  })

  it('keeps the last good value and reports the error when the file becomes empty or disappears', async () => {
    const path = await secretFile('good')
    const errors: string[] = []
    const source = track(fileSecret(path, { watch: false, onError: (e) => errors.push(e.message) }))
    await writeFile(path, '')
    expect(source.refresh()).toBe(false)
    await unlink(path)
    expect(source.refresh()).toBe(false)
    expect(source.value()).toBe('good')
    expect(errors).toEqual([`secret file ${path} is empty`, `cannot read secret file ${path}`])
  })

  it('warns with CALLSIGN_SECRET_RELOAD by default on a bad reload, naming the file and not the secret', async () => {
    const path = await secretFile('hunter2-secret')
    const source = track(fileSecret(path, { watch: false }))
    const warnings: Error[] = []
    const listener = (w: Error) => warnings.push(w)
    process.on('warning', listener)
    try {
      await writeFile(path, '')
      source.refresh()
      await new Promise((r) => setImmediate(r))
    } finally {
      process.off('warning', listener)
    }
    expect(warnings.map((w) => (w as Error & { code?: string }).code)).toEqual(['CALLSIGN_SECRET_RELOAD'])
    expect(warnings[0]!.message).toContain(path)
    expect(warnings[0]!.message).not.toContain('hunter2')
  })

  it('never shows the value in util.inspect, JSON or String()', async () => {
    const path = await secretFile('hunter2-secret')
    const source = track(fileSecret(path, { watch: false }))
    const creds = apiKeyCredentials(source)
    for (const shown of [
      inspect(source),
      JSON.stringify(source),
      String(source),
      inspect(creds),
      JSON.stringify(creds),
    ]) {
      expect(shown).not.toContain('hunter2')
    }
    expect(inspect(source)).toContain(path)
  })
})

describe('envSecret', () => {
  it('reads the variable and warns once per process (CALLSIGN_ENV_SECRET) that the environment leaks', async () => {
    process.env.CALLSIGN_TEST_KEY_A = 'env-secret-a'
    process.env.CALLSIGN_TEST_KEY_B = 'env-secret-b'
    const warnings: Error[] = []
    const listener = (w: Error) => warnings.push(w)
    process.on('warning', listener)
    try {
      expect(envSecret('CALLSIGN_TEST_KEY_A').value()).toBe('env-secret-a')
      expect(envSecret('CALLSIGN_TEST_KEY_B').value()).toBe('env-secret-b')
      await new Promise((r) => setImmediate(r))
    } finally {
      process.off('warning', listener)
      delete process.env.CALLSIGN_TEST_KEY_A
      delete process.env.CALLSIGN_TEST_KEY_B
    }
    expect(warnings.map((w) => (w as Error & { code?: string }).code)).toEqual(['CALLSIGN_ENV_SECRET'])
    expect(warnings[0]!.message).toContain('CALLSIGN_TEST_KEY_A')
    expect(warnings[0]!.message).not.toContain('env-secret-a')
  })

  it('throws ConfigError naming a variable that is unset or empty', () => {
    process.env.CALLSIGN_TEST_EMPTY = ''
    expect(() => envSecret('CALLSIGN_TEST_UNSET')).toThrow(/CALLSIGN_TEST_UNSET is not set/)
    expect(() => envSecret('CALLSIGN_TEST_EMPTY')).toThrow(ConfigError)
    delete process.env.CALLSIGN_TEST_EMPTY
  })
})

describe('apiKeyCredentials', () => {
  it('presents the key as Bearer and follows a rotated key file', async () => {
    const path = await secretFile('csk_a_one')
    const creds = apiKeyCredentials(track(fileSecret(path, { watch: false })))
    expect(await creds.authorization()).toBe('Bearer csk_a_one')
    await writeFile(path, 'csk_a_two\n')
    creds.invalidate('Bearer csk_a_one')
    expect(await creds.authorization()).toBe('Bearer csk_a_two')
  })

  it('throws ConfigError at startup for a key that cannot travel in a header, without echoing it', async () => {
    const path = await secretFile('csk with spaces')
    const source = track(fileSecret(path, { watch: false }))
    expect(() => apiKeyCredentials(source)).toThrow(ConfigError)
    expect(() => apiKeyCredentials(source)).toThrow(`the key from file ${path} is not a valid API key`)
    expect(() => apiKeyCredentials(source)).not.toThrow(/with spaces/)
  })

  it('keeps the last good key when the file is replaced by one that is not a key', async () => {
    const path = await secretFile('csk_a_good')
    const creds = apiKeyCredentials(track(fileSecret(path, { watch: false })))
    await writeFile(path, 'line one\nline two\n')
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve))
    creds.invalidate()
    expect(await creds.authorization()).toBe('Bearer csk_a_good')
    expect((await warned).message).not.toContain('line one')
  })
})
