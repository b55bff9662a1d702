import { KeyStoreError } from '@callsign/api-key'
import { migrate } from '@callsign/store-postgres'
import { describe, expect, it } from 'vitest'
import { DATABASE_URL, postgresReachable } from './support/postgres.js'

// What a database that cannot be used looks like to the operator: the message says why, from the
// driver's error code, and never repeats the URL (with its password) or a value.
const reachable = await postgresReachable('store-failure')

describe.runIf(reachable)('a database that cannot be used, in words', () => {
  const at = (change: (url: URL) => void) => {
    const url = new URL(DATABASE_URL)
    change(url)
    return url.href
  }
  it.each([
    [
      'a role that does not exist',
      () =>
        at((url) => {
          url.username = 'no_such_role'
          url.password = 'hunter2-not-a-real-password'
        }),
      /refused the login \(28\w{3}\): check the user and password of the URL/,
    ],
    [
      'a database that does not exist',
      () => at((url) => (url.pathname = '/no_such_database')),
      /has no such database \(3D000\)/,
    ],
    ['nothing listening', () => at((url) => (url.port = '1')), /did not answer \(ECONNREFUSED\)/],
  ])('%s', async (_name, url, message) => {
    const failure = await migrate(url()).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(KeyStoreError)
    expect((failure as KeyStoreError).code).toBe('ERR_KEY_STORE_UNAVAILABLE')
    expect((failure as Error).message).toMatch(message)
    expect((failure as Error).message).not.toContain('hunter2')
    expect((failure as Error).message).not.toContain('127.0.0.1')
  })
})
