import { readFileSync } from 'node:fs'
import { ConfigError, isScope } from '@callsign/core'
import { isLoopbackHost } from '@callsign/core/adapter'
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet } from 'jose'
import type { IssuerClient } from '../create-issuer.js'
import type { AssertionClient } from './assertion-clients.js'

const CLIENT_ID = /^[\x21-\x7e]{1,256}$/
const fail = (message: string): never => {
  throw new ConfigError(`createIssuer: ${message}`)
}

/** True for a `clients` entry that authenticates with private_key_jwt (it has keys registered). */
export const hasKeys = (client: IssuerClient | undefined) =>
  client?.jwks !== undefined || client?.jwksUri !== undefined

/**
 * The private_key_jwt clients among `clients`: each with its public keys, from a JWKS given inline,
 * a JWKS file (read now), or a JWKS URL (https, or http on loopback; fetched and cached by jose).
 */
export function resolveAssertionClients(
  clients: Readonly<Record<string, IssuerClient>>,
): ReadonlyMap<string, AssertionClient> {
  const resolved = new Map<string, AssertionClient>()
  for (const [id, client] of Object.entries(clients)) {
    if (!hasKeys(client)) continue
    const where = `"clients" entry ${JSON.stringify(id)}`
    if (!CLIENT_ID.test(id)) fail(`${where}: a client id is 1 to 256 visible ASCII characters`)
    if (client.jwks !== undefined && client.jwksUri !== undefined)
      fail(`${where}: give "jwks" or "jwksUri", not both`)
    const scopes = client.scopes
    if (!Array.isArray(scopes) || scopes.length === 0 || scopes.some((scope) => !isScope(scope))) {
      fail(`${where} must have a non-empty "scopes" list of "resource:action" scopes`)
    }
    const keys =
      client.jwksUri !== undefined
        ? createRemoteJWKSet(jwksUrl(client.jwksUri, where), {
            timeoutDuration: 5_000,
            cooldownDuration: 30_000,
          })
        : createLocalJWKSet(publicKeySet(client.jwks as NonNullable<IssuerClient['jwks']>, where))
    resolved.set(id, { scopes: [...new Set(scopes)], keys })
  }
  return resolved
}

function publicKeySet(value: NonNullable<IssuerClient['jwks']>, where: string): JSONWebKeySet {
  let set: unknown = value
  if (typeof value === 'string') {
    try {
      set = JSON.parse(readFileSync(value, 'utf8'))
    } catch (cause) {
      throw new ConfigError(
        `createIssuer: ${where}: "jwks" file ${JSON.stringify(value)} is not a readable JSON file`,
        {
          cause,
        },
      )
    }
  }
  const keys = (set as { keys?: unknown } | null)?.keys
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    keys.some((key) => typeof key !== 'object' || key === null)
  ) {
    return fail(`${where}: "jwks" must be a JWKS ({ "keys": [...] }) with at least one key`)
  }
  if (keys.some((key) => 'd' in key || 'k' in key)) {
    fail(`${where}: "jwks" holds a private or secret key; register the public key only`)
  }
  return set as JSONWebKeySet
}

function jwksUrl(value: string, where: string): URL {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname)))) {
    return fail(`${where}: "jwksUri" must be an https: URL (http: on loopback only)`)
  }
  return url
}
