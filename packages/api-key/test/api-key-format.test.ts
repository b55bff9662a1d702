import { AuthError, ConfigError } from '@callsign/core'
import { describe, expect, it } from 'vitest'
import { generateApiKey, parseApiKey } from '../src/index.js'
import { checksumOf } from '../src/lib/key-format.js'

const reasonOf = (fn: () => unknown): string => {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError)
    expect((error as AuthError).code).toBe('ERR_INVALID_CREDENTIAL')
    return (error as AuthError).reason
  }
  throw new Error('did not throw')
}

describe('generateApiKey / parseApiKey', () => {
  it('generates csk_<12-char id>_<43-char secret><6-char checksum> in base62, and parses it back', () => {
    const { key, id, secretHash } = generateApiKey()
    expect(key).toMatch(/^csk_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}$/)
    expect(key.slice(4, 16)).toBe(id)
    expect(secretHash).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(parseApiKey(key)).toEqual({ prefix: 'csk', id, secretHash })
  })

  it('carries at least 256 bits of secret: 43 base62 characters, all distinct across 2000 keys', () => {
    expect(43 * Math.log2(62)).toBeGreaterThanOrEqual(256)
    const keys = Array.from({ length: 2000 }, () => generateApiKey().key)
    expect(new Set(keys.map((key) => key.slice(17, 60))).size).toBe(2000)
    expect(new Set(keys.map((key) => key.slice(4, 16))).size).toBe(2000)
    // every base62 character shows up in the secrets: no alphabet bias towards a subset
    expect(new Set(keys.join('').replace(/[^0-9A-Za-z]/g, '')).size).toBe(62)
  })

  it('never puts the secret in the parse result', () => {
    const { key } = generateApiKey()
    const parsed = JSON.stringify(parseApiKey(key))
    expect(parsed).not.toContain(key.slice(17, 60))
  })

  it('uses a configured lower-case prefix, and rejects a key of another prefix (reason wrong_prefix)', () => {
    const { key, id } = generateApiKey({ prefix: 'acme' })
    expect(key.startsWith('acme_')).toBe(true)
    expect(parseApiKey(key, { prefix: 'acme' }).id).toBe(id)
    expect(reasonOf(() => parseApiKey(key))).toBe('wrong_prefix')
  })

  it.each([['CSK'], ['c'], ['cs1'], ['a'.repeat(17)], [''], ['cs_k']])(
    'throws a ConfigError naming "prefix" for the prefix %j',
    (prefix) => {
      expect(() => generateApiKey({ prefix })).toThrow(ConfigError)
      expect(() => generateApiKey({ prefix })).toThrow(/prefix/)
    },
  )

  describe('rejects, before any store lookup', () => {
    const { key } = generateApiKey()
    const id = key.slice(4, 16)
    const secret = key.slice(17, 60)
    const withChecksum = (i: string, s: string) => `csk_${i}_${s}${checksumOf('csk', i, s)}`
    const flip = (text: string, at: number) =>
      text.slice(0, at) + (text[at] === 'a' ? 'b' : 'a') + text.slice(at + 1)
    /** Swaps the first pair of neighbours from `from` on that differ, so the swap changes the key. */
    const swapDifferentPair = (text: string, from: number) => {
      let at = from
      while (text[at] === text[at + 1]) at++
      return text.slice(0, at) + text[at + 1] + text[at] + text.slice(at + 2)
    }

    it.each([
      ['a wrong prefix', 'wrong_prefix', `xsk${key.slice(3)}`],
      ['no prefix', 'wrong_prefix', key.slice(4)],
      ['a key one character short', 'malformed', key.slice(0, -1)],
      ['a key one character long', 'malformed', `${key}a`],
      ['an empty string', 'wrong_prefix', ''],
      ['a second key appended', 'malformed', `${key} ${key}`],
      [
        'a character outside base62 (checksum matches)',
        'malformed',
        withChecksum(id, `${secret.slice(0, -1)}-`),
      ],
      ['a non-ASCII character (checksum matches)', 'malformed', withChecksum(id, `${secret.slice(0, -1)}é`)],
      ['an id with a space (checksum matches)', 'malformed', withChecksum(`${id.slice(0, -1)} `, secret)],
      ['a missing separator', 'malformed', `${key.slice(0, 16)}x${key.slice(17)}`],
      ['one secret character changed', 'checksum', flip(key, 30)],
      ['one id character changed', 'checksum', flip(key, 6)],
      ['one checksum character changed', 'checksum', flip(key, 63)],
      ['a swapped pair of characters', 'checksum', swapDifferentPair(key, 20)],
    ])('rejects %s with ERR_INVALID_CREDENTIAL (reason %s)', (_case, reason, text) => {
      expect(text).not.toBe(key)
      expect(reasonOf(() => parseApiKey(text))).toBe(reason)
    })
  })
})
