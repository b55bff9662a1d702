import type { DetailedPeerCertificate } from 'node:tls'

/** The DER chain of a peer, from `getPeerCertificate(true)`, leaf first (empty: no certificate). */
export function peerChain(certificate: DetailedPeerCertificate | undefined): Uint8Array[] {
  const chain: Uint8Array[] = []
  let current = certificate
  while (current?.raw && chain.length < 10) {
    chain.push(current.raw)
    const issuer: DetailedPeerCertificate | undefined = current.issuerCertificate
    if (!issuer || issuer === current || issuer.raw?.equals(current.raw)) break
    current = issuer
  }
  return chain
}
