/**
 * `@callsign/client/grpc`: credentials for `@grpc/grpc-js` clients. A separate entry point, so an
 * HTTP-only caller never loads (or installs) grpc-js.
 */
export { type GrpcCredentials, type GrpcCredentialsOptions, grpcCredentials } from './grpc-credentials.js'
