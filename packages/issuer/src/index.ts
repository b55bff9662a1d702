export {
  createIssuer,
  type FailedAuthenticationOptions,
  type Issuer,
  type IssuerClient,
  type IssuerListenOptions,
  type IssuerOptions,
} from './create-issuer.js'
export { type FailureRule, type FailureStore, memoryFailureStore } from './failure-store.js'
