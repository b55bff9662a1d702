export { certificateThumbprint } from './certificate-thumbprint.js'
export { createDevCa, type DevCa, type DevCaOptions } from './create-dev-ca.js'
export {
  type IssueServiceCertificateOptions,
  issueServiceCertificate,
  type ServiceCertificate,
} from './issue-service-certificate.js'
export { parseSpiffeId, type SpiffeId, SpiffeIdError, type SpiffeIdRule } from './parse-spiffe-id.js'
export {
  authorizeId,
  authorizeMemberOf,
  authorizeOneOf,
  authorizePathPrefix,
  type SpiffeAuthorizer,
} from './spiffe-authorizers.js'
