import { loadPolicyFile, type Policy } from '@callsign/core'
import type { ReviewedCredential } from './review-access.js'

/**
 * Adds to each credential the scopes the services' policies grant its owner (exact ids, `/*`
 * patterns), as the pipeline adds them to whatever credential proved the id, and names them in
 * `policyScopes`: a certificate holds nothing else, a key holds them beside its own. These are what
 * the review weighs against use. A policy file that does not load is a ConfigError naming it (no
 * review is made).
 */
export function withPolicyGrants(
  credentials: readonly ReviewedCredential[],
  files: readonly string[],
): ReviewedCredential[] {
  const policies: Policy[] = files.map((file) => loadPolicyFile(file))
  return credentials.map((credential) => {
    const own = new Set(credential.scopes)
    const fromPolicies = new Set<string>()
    for (const policy of policies) {
      for (const scope of policy.grantsFor(credential.owner)) if (!own.has(scope)) fromPolicies.add(scope)
    }
    if (fromPolicies.size === 0) return credential
    return {
      ...credential,
      scopes: [...own, ...fromPolicies].sort(),
      policyScopes: [...fromPolicies].sort(),
    }
  })
}
