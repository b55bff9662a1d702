import type { AuthError } from '@callsign/core'
import { GRPC_ERROR_CODE_KEY, GRPC_STATUS } from '@callsign/core/adapter'
import { Metadata, type StatusObject } from '@grpc/grpc-js'

/** The gRPC status for a refusal: 16 or 7, the code in trailing metadata, prose details only. */
export function grpcRefusal(error: AuthError): StatusObject {
  const metadata = new Metadata()
  metadata.set(GRPC_ERROR_CODE_KEY, error.code)
  if (error.code === 'ERR_INSUFFICIENT_SCOPE')
    metadata.set('callsign-required-scope', error.requiredScopes.join(' '))
  return { code: GRPC_STATUS[error.code], details: error.message, metadata }
}
