export {
  createIssuer,
  type FailedAuthenticationOptions,
  type Issuer,
  type IssuerClient,
  type IssuerOptions,
} from './create-issuer.js'
