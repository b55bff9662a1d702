import type { Clock } from '@callsign/core'
import { FetchFailure, type FetchJsonOptions, fetchJson, isSecureUrl } from './fetch-json.js'

/** The OIDC discovery URL of an issuer. */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
}

/**
 * A JWKS loader that finds `jwks_uri` through OIDC discovery. The document must name exactly our
 * issuer and a secure `jwks_uri`; it is re-read every `maxAgeSeconds` and after a failed JWKS fetch.
 */
export function discoveryLoader(
  issuer: string,
  fetchOptions: FetchJsonOptions,
  clock: Clock,
  maxAgeSeconds: number,
): () => Promise<unknown> {
  const url = discoveryUrl(issuer)
  let jwksUri: string | undefined
  let discoveredAt = Number.NEGATIVE_INFINITY
  return async () => {
    if (jwksUri === undefined || clock.now() - discoveredAt >= maxAgeSeconds * 1000) {
      const document = (await fetchJson(url, fetchOptions)) as Record<string, unknown> | null
      if (typeof document !== 'object' || document === null) throw new FetchFailure('invalid_discovery')
      if (document.issuer !== issuer) throw new FetchFailure('issuer_mismatch')
      if (typeof document.jwks_uri !== 'string' || !isSecureUrl(document.jwks_uri)) {
        throw new FetchFailure('insecure_jwks_uri')
      }
      jwksUri = document.jwks_uri
      discoveredAt = clock.now()
    }
    try {
      return await fetchJson(jwksUri, fetchOptions)
    } catch (error) {
      discoveredAt = Number.NEGATIVE_INFINITY
      throw error
    }
  }
}
