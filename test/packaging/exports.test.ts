import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

// Each package's public surface (every name each entry point exports, values and types) is listed
// in its README between `<!-- exports: <entry> -->` and the end of that list, and must equal what
// the TypeScript compiler sees: a new export is a visible decision, not an accident.

const packages = fileURLToPath(new URL('../../packages/', import.meta.url))

interface Entry {
  readonly pkg: string
  readonly subpath: string
  readonly source: string
}

const entries: Entry[] = readdirSync(packages).flatMap((pkg) => {
  const { exports } = JSON.parse(readFileSync(`${packages}${pkg}/package.json`, 'utf8')) as {
    exports: Record<string, { '@callsign/source': string }>
  }
  return Object.entries(exports).map(([subpath, conditions]) => ({
    pkg,
    subpath,
    source: `${packages}${pkg}/${conditions['@callsign/source'].slice(2)}`,
  }))
})

const program = ts.createProgram(
  entries.map((entry) => entry.source),
  {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    customConditions: ['@callsign/source'],
    noEmit: true,
    skipLibCheck: true,
  },
)
const checker = program.getTypeChecker()

function exportedNames(file: string): string[] {
  const source = program.getSourceFile(file)
  const symbol = source && checker.getSymbolAtLocation(source)
  if (!symbol) throw new Error(`cannot read the exports of ${file}`)
  return checker
    .getExportsOfModule(symbol)
    .map((s) => s.name)
    .sort()
}

/** The names listed in a README after `<!-- exports: <subpath> -->`, up to the next blank line. */
function listedNames(readme: string, subpath: string): string[] | undefined {
  const marker = `<!-- exports: ${subpath} -->`
  const at = readme.indexOf(marker)
  if (at < 0) return undefined
  const block = readme.slice(at + marker.length).split(/\n\s*\n/)[0] ?? ''
  return [...block.matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((m) => m[1]!).sort()
}

describe('public surface', () => {
  it.each(entries.map((e) => [`@callsign/${e.pkg}${e.subpath.slice(1)}`, e] as const))(
    '%s exports exactly what its README lists',
    (_name, entry) => {
      const readme = readFileSync(`${packages}${entry.pkg}/README.md`, 'utf8')
      const exported = exportedNames(entry.source)
      expect(exported.length).toBeGreaterThan(0)
      expect(
        listedNames(readme, entry.subpath),
        `README of ${entry.pkg}: <!-- exports: ${entry.subpath} -->`,
      ).toEqual(exported)
    },
  )

  it('@callsign/cli is a command, not a library: it exports no module', () => {
    expect(() => createRequire(import.meta.url).resolve('@callsign/cli')).toThrow(
      expect.objectContaining({ code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' }),
    )
  })
})
