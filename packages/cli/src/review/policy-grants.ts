import { loadPolicyFile, type Policy } from '@callsign/core'
import type { ReviewedCredential } from './review-access.js'

/**
 * Gives each certificate the scopes the services' policies grant its identity (exact ids, `/*`
 * patterns): an mTLS caller holds nothing else, so these are what the review weighs against use.
 * A policy file that does not load is a ConfigError naming it (no review is made).
 */
export function withPolicyGrants(
  credentials: readonly ReviewedCredential[],
  files: readonly string[],
): ReviewedCredential[] {
  const policies: Policy[] = files.map((file) => loadPolicyFile(file))
  return credentials.map((credential) => {
    if (credential.kind !== 'mtls' || policies.length === 0) return credential
    const granted = new Set(credential.scopes)
    for (const policy of policies) for (const scope of policy.grantsFor(credential.owner)) granted.add(scope)
    return { ...credential, scopes: [...granted].sort() }
  })
}
