export { certificateThumbprint } from './certificate-thumbprint.js'
export { createDevCa, type DevCa, type DevCaOptions } from './create-dev-ca.js'
export {
  type CreateRevocationListOptions,
  createRevocationList,
  type RevokedCertificate,
} from './create-revocation-list.js'
export {
  type IssueServiceCertificateOptions,
  issueServiceCertificate,
  type ServiceCertificate,
} from './issue-service-certificate.js'
export type { TrustFiles } from './lib/load-trust.js'
export type { TlsFiles, TlsMaterial, TlsMaterialHealth } from './lib/tls-material.js'
export {
  type MtlsVerifierOptions,
  mtlsVerifier,
  type TrustDomainOptions,
} from './mtls-verifier.js'
export { parseSpiffeId, type SpiffeId, SpiffeIdError, type SpiffeIdRule } from './parse-spiffe-id.js'
export { type RevocationListContents, readRevocationList } from './read-revocation-list.js'
export {
  authorizeId,
  authorizeMemberOf,
  authorizeOneOf,
  authorizePathPrefix,
  type SpiffeAuthorizer,
  type SpiffeMatcher,
} from './spiffe-authorizers.js'
export { type ClientTls, type TlsClientOptionsInput, tlsClientOptions } from './tls-client-options.js'
export {
  type GrpcCertificateProvider,
  type ServerTls,
  type TlsServerOptionsInput,
  tlsServerOptions,
} from './tls-server-options.js'
