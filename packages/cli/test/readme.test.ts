import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { commandTableRows, markdownTable, readmeTableRows } from './support/command-table.js'

const README = new URL('../README.md', import.meta.url)

describe('the CLI README', () => {
  it('has a row for every command with the flags, --json shape and exit codes that --help shows', async () => {
    const expected = await commandTableRows()
    const actual = readmeTableRows(readFileSync(README, 'utf8'))
    // on failure, paste this between the README's <!-- commands:start/end --> markers:
    if (JSON.stringify(actual) !== JSON.stringify(expected)) console.log(markdownTable(expected))
    expect(actual).toEqual(expected)
  })
})
