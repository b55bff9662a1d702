import { X509Certificate } from 'node:crypto'

const MAX_CHAIN = 8

/**
 * The path from `leaf` to one of `anchors`, leaf first and anchor last, walking issuer links
 * through the certificates the peer presented and checking each signature (never trusting the
 * chain's order or contents). `undefined` when the leaf does not chain to any of them.
 */
export function chainPath(
  leaf: X509Certificate,
  presented: readonly Uint8Array[],
  anchors: readonly X509Certificate[],
): X509Certificate[] | undefined {
  if (anchors.length === 0) return undefined
  const pool: X509Certificate[] = []
  for (const der of presented.slice(1)) {
    try {
      pool.push(new X509Certificate(der))
    } catch {
      // an unreadable extra certificate links nothing
    }
  }
  const path = [leaf]
  let current = leaf
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    const anchor = anchors.find((candidate) => issuedBy(current, candidate))
    if (anchor) return [...path, anchor]
    const next = pool.find(
      (candidate) =>
        candidate.ca &&
        !path.some((seen) => seen.fingerprint256 === candidate.fingerprint256) &&
        issuedBy(current, candidate),
    )
    if (!next) return undefined
    path.push(next)
    current = next
  }
  return undefined
}

function issuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey)
}
