import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// What a team adopting Callsign does first, outside the monorepo: `pnpm pack:all`, then plain npm
// installs of the tarballs into fresh projects (ESM and CommonJS, strict TypeScript), `tsc`, and one
// allowed and one refused request through each, with keys and tokens made by `npx callsign`.
// The projects install express, fastify, grpc-js and @types/* from the npm registry.

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixtures = fileURLToPath(new URL('./consumers/', import.meta.url))
const tarballs = join(root, 'tarballs')
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const PACKAGES = [
  'core',
  'api-key',
  'store-postgres',
  'jwt',
  'mtls',
  'express',
  'fastify',
  'grpc',
  'client',
  'issuer',
  'cli',
]

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 240_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) || 1 : 0, stdout, stderr }),
    )
  })
}

async function must(command: string, args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv) {
  const result = await run(command, args, cwd, env)
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) exited ${result.code}:\n${result.stdout}\n${result.stderr}`,
    )
  }
  return result.stdout
}

const tarball = (name: string) => join(tarballs, `callsign-${name}-0.1.0.tgz`)
const manifest = async (name: string) =>
  JSON.parse(await must('tar', ['-xzOf', tarball(name), 'package/package.json'], root)) as Record<
    string,
    unknown
  >

let work: string
const project = (name: string) => join(work, name)

/** A fresh npm project outside the workspace: the given tarballs, and registry packages. */
function createProject(name: string, type: 'module' | 'commonjs', callsign: string[], registry: object) {
  const dir = project(name)
  mkdirSync(dir, { recursive: true })
  if (existsSync(join(fixtures, name))) cpSync(join(fixtures, name), dir, { recursive: true })
  const dependencies = Object.fromEntries(callsign.map((p) => [`@callsign/${p}`, `file:${tarball(p)}`]))
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: `consumer-${name}`,
      private: true,
      type,
      dependencies: { ...dependencies, ...registry },
    }),
  )
  return must('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], dir)
}

const secrets: Record<string, string> = {}

beforeAll(async () => {
  rmSync(tarballs, { recursive: true, force: true })
  await must('pnpm', ['pack:all'], root)
  work = mkdtempSync(join(tmpdir(), 'callsign-consumers-'))
  const typesNode = { '@types/node': '^20.19.0' }
  await Promise.all([
    createProject('express', 'module', ['core', 'api-key', 'mtls', 'client', 'express'], {
      express: '^5.1.0',
      '@types/express': '^5.0.0',
      ...typesNode,
    }),
    createProject('fastify', 'module', ['core', 'jwt', 'fastify'], { fastify: '^5.0.0', ...typesNode }),
    createProject('grpc', 'commonjs', ['core', 'api-key', 'mtls', 'client', 'grpc'], {
      '@grpc/grpc-js': '^1.12.0',
      ...typesNode,
    }),
    createProject(
      'cli',
      'module',
      ['cli', 'core', 'api-key', 'store-postgres', 'jwt', 'mtls', 'issuer', 'fastify'],
      {},
    ),
  ])

  // Keys and tokens, with the CLI installed from its tarball.
  const cli = (...args: string[]) => must('npx', ['--no', '--', 'callsign', ...args], project('cli'))
  const store = ['--store', join(project('cli'), 'keys.json')]
  secrets.keyStore = join(project('cli'), 'keys.json')
  secrets.keyFile = join(project('cli'), 'partner.key')
  secrets.revokedKeyFile = join(project('cli'), 'former.key')
  await cli(
    'keys',
    'create',
    '--owner',
    'partner',
    '--scope',
    'orders:read',
    '--out',
    secrets.keyFile,
    ...store,
  )
  const former = JSON.parse(
    await cli(
      'keys',
      'create',
      '--owner',
      'former',
      '--scope',
      'orders:read',
      '--out',
      secrets.revokedKeyFile,
      '--json',
      ...store,
    ),
  ) as { id: string }
  await cli('keys', 'revoke', former.id, ...store)
  await cli('jwks', 'generate', '--dir', join(project('cli'), 'jwks'))
  const mint = async (scope: string) =>
    (
      await cli(
        'tokens',
        'mint',
        '--dir',
        join(project('cli'), 'jwks'),
        '--iss',
        'https://issuer.test',
        '--sub',
        'reader',
        '--aud',
        'orders',
        '--scope',
        scope,
        '--ttl',
        '5m',
      )
    ).trim()
  secrets.tokenRead = await mint('orders:read')
  secrets.tokenOther = await mint('orders:write')
}, 300_000)

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
}, 120_000)

/** tsc over the consumer's strict tsconfig, then its compiled main. */
async function typecheckAndRun(name: string, env: NodeJS.ProcessEnv) {
  const compiled = await run(process.execPath, [tsc, '-p', project(name)], project(name))
  expect(compiled.stdout + compiled.stderr, `${name}: tsc`).toBe('')
  expect(compiled.code).toBe(0)
  const output = await must(process.execPath, ['dist/main.js'], project(name), env)
  return JSON.parse(output.trim().split('\n').at(-1) ?? '') as {
    allowed: { status?: number; code?: number; body: Record<string, unknown> }
    refused: { status?: number; code?: number; body?: Record<string, unknown> }
  }
}

describe('the packed packages', () => {
  it('are one tarball per package, each with its build, its sources, a LICENSE and a publishable manifest', async () => {
    expect(readdirSync(tarballs).sort()).toEqual(PACKAGES.map((p) => `callsign-${p}-0.1.0.tgz`).sort())
    for (const name of PACKAGES) {
      const files = (await must('tar', ['-tzf', tarball(name)], root)).split('\n')
      const entry =
        name === 'cli'
          ? ['bin/callsign.js', 'dist/bin.js', 'src/bin.ts']
          : ['dist/index.js', 'dist/index.d.ts', 'src/index.ts']
      for (const file of ['LICENSE', 'README.md', ...entry]) {
        expect(files, `${name}: ${file}`).toContain(`package/${file}`)
      }
      const m = await manifest(name)
      expect(m.publishConfig, name).toEqual({ access: 'public' })
      expect(m.license, name).toBe('Apache-2.0')
      if (name === 'cli') {
        // A command, not a library: no module to import.
        expect(m.exports, name).toEqual({})
        expect(m.bin, name).toEqual({ callsign: './bin/callsign.js' })
      } else {
        expect(m.types, name).toBe('./dist/index.d.ts')
        expect(m.main, name).toBe('./dist/index.js')
      }
      expect(m.repository, name).toBeDefined()
      for (const [dep, range] of Object.entries((m.dependencies ?? {}) as Record<string, string>)) {
        if (dep.startsWith('@callsign/')) expect(range, `${name} → ${dep}`).toBe('^0.1.0')
      }
    }
  })

  it('run the CLI with npx from its tarball alone with its internal dependencies', async () => {
    const help = await must('npx', ['--no', '--', 'callsign', '--help'], project('cli'))
    expect(help).toContain('keys')
    expect(existsSync(secrets.keyFile ?? '')).toBe(true)
  })

  it('serve an ESM strict TypeScript Express app: a CLI-made key is let in, a revoked one refused', {
    timeout: 180_000,
  }, async () => {
    // @callsign/client without gRPC: grpc-js is an optional peer, so npm did not install it.
    expect(existsSync(join(project('express'), 'node_modules', '@grpc', 'grpc-js'))).toBe(false)
    const result = await typecheckAndRun('express', {
      KEY_STORE: secrets.keyStore,
      KEY_FILE: secrets.keyFile,
      REVOKED_KEY_FILE: secrets.revokedKeyFile,
    })
    expect(result.allowed).toEqual({ status: 200, body: { id: '42', caller: 'partner' } })
    expect(result.refused.status).toBe(401)
    expect(result.refused.body?.code).toBe('ERR_INVALID_CREDENTIAL')
  })

  it('serve a Fastify app: a token with the scope is let in, one without it refused', {
    timeout: 180_000,
  }, async () => {
    const result = await typecheckAndRun('fastify', {
      JWKS_FILE: join(project('cli'), 'jwks', 'jwks.json'),
      TOKEN_READ: secrets.tokenRead,
      TOKEN_OTHER: secrets.tokenOther,
    })
    expect(result.allowed).toEqual({ status: 200, body: { caller: 'reader', scopes: ['orders:read'] } })
    expect(result.refused.status).toBe(403)
    expect(result.refused.body?.code).toBe('ERR_INSUFFICIENT_SCOPE')
  })

  it('serve a CommonJS gRPC service (moduleResolution node): a key is let in, a revoked one refused', {
    timeout: 180_000,
  }, async () => {
    const result = await typecheckAndRun('grpc', {
      KEY_STORE: secrets.keyStore,
      KEY_FILE: secrets.keyFile,
      REVOKED_KEY_FILE: secrets.revokedKeyFile,
    })
    expect(result.allowed).toEqual({ code: 0, body: { reservedFor: 'partner' } })
    expect(result.refused).toEqual({ code: 16 })
  })
})
