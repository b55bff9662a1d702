import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { AUDIT_REASONS, AuthError } from '../src/index.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

describe('audit reasons: one list', () => {
  it("is the list core's README prints, row for row", () => {
    const section = readme.slice(readme.indexOf('## Audit reasons'))
    const listed = [...section.matchAll(/^\| `([a-z0-9_.]+)` +\|/gm)].map((match) => match[1])
    expect(listed).toEqual(Object.keys(AUDIT_REASONS))
  })

  it('keeps a built-in reason and an x. reason, and records anything else as unspecified', () => {
    const reason = (value: string) =>
      new AuthError('ERR_INVALID_CREDENTIAL', { reason: value as never }).reason
    expect(reason('revoked')).toBe('revoked')
    expect(reason('x.partner_suspended')).toBe('x.partner_suspended')
    for (const value of ['not_a_reason', 'x.', 'x.Key csk_123', 'toString', '__proto__', ''])
      expect(reason(value)).toBe('unspecified')
  })
})
