import { AuthError, ConfigError, type Decision, type Logger } from '@callsign/core'
import {
  type AdapterOptions,
  checkCoverage,
  checkLogger,
  decideOrRefuse,
  isLoopbackHost,
  resolveAdapterOptions,
} from '@callsign/core/adapter'
import {
  type Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServiceDefinition,
  setLogger,
} from '@grpc/grpc-js'
import { fromGrpc } from './from-grpc.js'
import { setCallState } from './lib/call-state.js'
import { grpcRefusal } from './lib/grpc-refusal.js'
import { redactCredentials } from './redact-credentials.js'

const WHERE = '@callsign/grpc'

/**
 * Pipeline options (or a pipeline), coverage options, the services to check, and the transport rule.
 *
 * @example
 * const options: GrpcAuthOptions = { policy, verifiers, services: [Inventory.service] }
 */
/** The adapter options, each member without its own `logger` (the gRPC one below takes its place). */
type WithoutLogger<T> = T extends unknown ? Omit<T, 'logger'> : never

export type GrpcAuthOptions = WithoutLogger<AdapterOptions> & {
  /**
   * Every service the server registers. Checked against the policy when `auth()` is called: a
   * method without an entry stops startup (or is reported, with `reportOnly`). A method of a
   * service not listed here is still refused at call time unless the policy names it.
   */
  readonly services: readonly ServiceDefinition[]
  /**
   * Serve plaintext (insecure credentials) calls from loopback peers, for a sidecar. A plaintext
   * call from any other peer is refused (16). Default false: TLS only.
   */
  readonly allowPlaintextLoopback?: boolean
  /**
   * The application's logger (pino, or anything with `warn`, `error`, `info`, `debug`, such as
   * `console`). It gets Callsign's one-time warnings (dry run, unmapped methods), as every
   * pipeline's `logger` does, and grpc-js's own log (process-wide), which Callsign installs with
   * credentials redacted: grpc-js would otherwise log a refused metadata value, such as a key with
   * a tab in it, in full. Default: process warnings, and grpc-js's own console format. `false`
   * leaves grpc-js's logger alone (then wrap yours with `redactCredentials`); warnings stay process
   * warnings.
   */
  readonly logger?: Logger | false
}

/** grpc-js's default logger: every level to stderr, with a severity letter. */
const grpcDefaultLogger: Partial<Console> = {
  error: (message: unknown, ...rest: unknown[]) => console.error(`E ${message}`, ...rest),
  info: (message: unknown, ...rest: unknown[]) => console.error(`I ${message}`, ...rest),
  debug: (message: unknown, ...rest: unknown[]) => console.error(`D ${message}`, ...rest),
}

/**
 * Callsign's server interceptor for `@grpc/grpc-js`: pass it first in the Server's `interceptors`
 * option. It decides every call from its metadata before the handler runs and before a unary request
 * message is read, and it checks the listed services against the policy now, at startup.
 *
 * @example
 * const server = new Server({
 *   interceptors: [auth({ policy, verifiers: [mtlsVerifier({ trustDomains: ['mesh.local'] })], services: [Inventory.service] })],
 * })
 * server.addService(Inventory.service, { reserve })
 * server.bindAsync('0.0.0.0:50051', ServerCredentials.createSsl(ca, [keyCert], true), () => {})
 */
export function auth(options: GrpcAuthOptions): ServerInterceptor {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`${WHERE}: auth(options) needs an options object`)
  }
  if (options.allowPlaintextLoopback !== undefined && typeof options.allowPlaintextLoopback !== 'boolean') {
    throw new ConfigError(`${WHERE}: "allowPlaintextLoopback" must be a boolean`)
  }
  const { services, logger } = options
  if (
    !Array.isArray(services) ||
    services.some((service) => typeof service !== 'object' || service === null)
  ) {
    throw new ConfigError(`${WHERE}: "services" must list the service definitions the server registers`)
  }
  if (logger !== false) checkLogger(logger, WHERE)
  const forPipeline: AdapterOptions = { ...options, logger: logger === false ? undefined : logger }
  const resolved = resolveAdapterOptions(forPipeline, WHERE)
  const { pipeline } = resolved
  const allowPlaintext = options.allowPlaintextLoopback === true
  checkCoverage(resolved, methodPaths(services), WHERE)
  if (logger !== false) setLogger(redactCredentials(logger ?? grpcDefaultLogger))

  const decide = (call: ServerInterceptingCallInterface, path: string, metadata: Metadata) => {
    const request = fromGrpc(call, path, metadata)
    if (request.tls === undefined && !(allowPlaintext && isLocalPeer(request.remoteAddress))) {
      const reason = allowPlaintext ? 'plaintext_not_loopback' : 'plaintext_not_allowed'
      return {
        request,
        decision: pipeline.refuse(request, new AuthError('ERR_INVALID_CREDENTIAL', { reason })),
      }
    }
    return { request, decision: decideOrRefuse(pipeline, request) }
  }

  const interceptor: ServerInterceptor = (method, call) =>
    new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, forward) {
            const { request, decision } = decide(call, method.path, metadata)
            const apply = (settled: Decision) => {
              if (!settled.allowed) {
                call.sendStatus(grpcRefusal(settled.error))
                return
              }
              setCallState(metadata, { caller: settled.caller, pipeline, request })
              forward(metadata)
            }
            if (decision instanceof Promise) decision.then(apply)
            else apply(decision)
          },
        })
      },
    })
  Object.defineProperty(interceptor, 'name', { value: 'callsignInterceptor' })
  return interceptor
}

/** The method paths of service definitions (`/pkg.Service/Method`). */
function methodPaths(services: readonly ServiceDefinition[]): string[] {
  const paths: string[] = []
  for (const service of services) {
    for (const [name, method] of Object.entries(service)) {
      if (typeof method?.path !== 'string') {
        throw new ConfigError(
          `${WHERE}: "services": method ${name} has no path; pass Service.service from a loaded definition`,
        )
      }
      paths.push(method.path)
    }
  }
  return paths
}

/** A loopback peer, or one with no address at all, which only a Unix domain socket has. */
function isLocalPeer(address: string | undefined): boolean {
  return address === undefined || address === '' || isLoopbackHost(address)
}
