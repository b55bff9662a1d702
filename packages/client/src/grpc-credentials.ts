import { ConfigError } from '@callsign/core'
import { isLoopbackHost } from '@callsign/core/adapter'
import {
  CallCredentials,
  type ChannelCredentials,
  credentials as grpcChannel,
  InterceptingCall,
  type Interceptor,
  Metadata,
  status,
} from '@grpc/grpc-js'
import { ClientError } from './client-error.js'
import type { Credentials } from './credentials.js'
import { grpcTargetHosts } from './lib/grpc-target-hosts.js'

/**
 * A TLS `channel`, or a loopback target for plaintext to a sidecar.
 *
 * @example
 * const options: GrpcCredentialsOptions = { insecureLoopback: '127.0.0.1:15001', audience: 'inventory' }
 */
export type GrpcCredentialsOptions =
  | {
      /** TLS channel credentials (`credentials.createSsl(...)`); the credential rides as call credentials. */
      readonly channel: ChannelCredentials
      readonly audience?: string
    }
  | {
      /**
       * Plaintext to a local sidecar (Envoy, a service-mesh proxy) at this target, which must be a
       * loopback address (`127.0.0.1:15001`, `[::1]:15001`, `localhost:15001`) or a `unix:` socket.
       */
      readonly insecureLoopback: string
      readonly audience?: string
    }

/**
 * What a grpc-js client needs.
 *
 * @example
 * const g = grpcCredentials(tokens, { channel: credentials.createSsl(ca) })
 * const client = new Inventory(target, g.credentials, g.options)
 */
export interface GrpcCredentials {
  readonly credentials: ChannelCredentials
  readonly options: { readonly interceptors: Interceptor[] }
  /** The loopback target, in `insecureLoopback` mode. */
  readonly target?: string
}

/**
 * Credentials for `@grpc/grpc-js` clients: the `authorization` metadata on every call.
 *
 * - `{ channel }`: the channel credentials combined with call credentials (TLS channels only, as
 *   grpc-js requires).
 * - `{ insecureLoopback: target }`: for plaintext to a sidecar on the same host. grpc-js refuses call
 *   credentials on insecure channels, so an interceptor adds the metadata; the target must be a
 *   loopback address or a unix socket (anything else throws a {@link ConfigError}), so a credential
 *   never crosses a network in clear text.
 *
 * A call for which no credential can be had ends with `UNAVAILABLE` and the {@link ClientError} code
 * in its details.
 *
 * @example
 * const g = grpcCredentials(tokens, { channel: credentials.createSsl(ca) })
 * const inventory = new Inventory('inventory.internal:443', g.credentials, g.options)
 *
 * const local = grpcCredentials(tokens, { insecureLoopback: '127.0.0.1:15001' })
 * const viaSidecar = new Inventory(local.target!, local.credentials, local.options)
 */
export function grpcCredentials(creds: Credentials, options: GrpcCredentialsOptions): GrpcCredentials {
  if (typeof creds?.authorization !== 'function') {
    throw new ConfigError(
      'grpcCredentials: "creds" must come from apiKeyCredentials, tokenCredentials or mtlsAgent',
    )
  }
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(
      'grpcCredentials: options must name a TLS "channel" or an "insecureLoopback" target',
    )
  }
  const audience = options.audience
  if (audience !== undefined && (typeof audience !== 'string' || audience.length === 0)) {
    throw new ConfigError('grpcCredentials: "audience" must be a non-empty string')
  }
  const metadata = async (): Promise<Metadata> => {
    const value = await creds.authorization(audience)
    const md = new Metadata()
    if (value !== undefined) md.set('authorization', value)
    return md
  }

  if ('insecureLoopback' in options) {
    const target = options.insecureLoopback
    const hosts = typeof target === 'string' ? grpcTargetHosts(target) : undefined
    if (!hosts || hosts.some((host) => host !== 'unix' && !isLoopbackHost(host))) {
      throw new ConfigError(
        'grpcCredentials: "insecureLoopback" must be a loopback target (127.0.0.1:port, [::1]:port, localhost:port or unix:path); use "channel" with TLS for anything else',
      )
    }
    const interceptor: Interceptor = (callOptions, nextCall) => {
      const call = nextCall(callOptions)
      return new InterceptingCall(call, {
        start(md, listener, next) {
          metadata().then(
            (extra) => {
              md.merge(extra)
              next(md, listener)
            },
            (error: unknown) => {
              next(md, listener)
              call.cancelWithStatus(status.UNAVAILABLE, unavailable(error).message)
            },
          )
        },
      })
    }
    return Object.freeze({
      credentials: grpcChannel.createInsecure(),
      options: Object.freeze({ interceptors: [interceptor] }),
      target,
    })
  }

  const { channel } = options
  if (typeof channel?.compose !== 'function') {
    throw new ConfigError(
      'grpcCredentials: "channel" must be grpc-js ChannelCredentials (credentials.createSsl())',
    )
  }
  const call = CallCredentials.createFromMetadataGenerator((_params, callback) => {
    metadata().then(
      (md) => callback(null, md),
      (error: unknown) => callback(unavailable(error)),
    )
  })
  let composed: ChannelCredentials
  try {
    composed = channel.compose(call)
  } catch (cause) {
    throw new ConfigError(
      'grpcCredentials: "channel" must be TLS credentials; for plaintext to a local sidecar use "insecureLoopback"',
      { cause },
    )
  }
  return Object.freeze({ credentials: composed, options: Object.freeze({ interceptors: [] }) })
}

/** The error a call sees: the ClientError code, never a dependency's text. */
function unavailable(error: unknown): Error & { code: number } {
  const code = error instanceof ClientError ? error.code : 'ERR_CREDENTIAL_UNAVAILABLE'
  const failure = new Error(`Callsign could not obtain a credential for this call (${code})`, {
    cause: error,
  })
  // grpc-js takes the status from a numeric `code` on a call-credentials error
  return Object.assign(failure, { code: status.UNAVAILABLE })
}
