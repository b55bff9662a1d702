import {
  type AdapterOptions,
  ConfigError,
  checkCoverage,
  type Decision,
  decideOrRefuse,
  resolveAdapterOptions,
} from '@callsign/core'
import {
  type Metadata,
  type Server,
  type ServerCredentials,
  ServerInterceptingCall,
  type ServerInterceptor,
} from '@grpc/grpc-js'
import { fromGrpc } from './from-grpc.js'
import { setCallState } from './lib/call-state.js'
import { grpcRefusal } from './lib/grpc-refusal.js'
import { isLoopbackBind } from './lib/is-loopback-bind.js'

const WHERE = '@callsign/grpc'

/**
 * Pipeline options (or a pipeline), coverage options, and the transport rule.
 *
 * @example
 * const options: GrpcAuthOptions = { policy, verifiers, allowPlaintextLoopback: true }
 */
export type GrpcAuthOptions = AdapterOptions & {
  /**
   * Allow plaintext (insecure credentials) binds, for a sidecar on loopback only: a plaintext bind
   * to any other address is still refused at startup. Default false: TLS binds only.
   */
  readonly allowPlaintextLoopback?: boolean
}

interface ServerInternals {
  interceptors?: ServerInterceptor[]
  handlers?: Map<string, unknown>
}

const attached = new WeakSet<object>()

/**
 * Protects a `@grpc/grpc-js` server. Call it right after `new Server()`: it puts Callsign's
 * interceptor first, which decides every call from its metadata before the handler runs and before
 * a unary request message is read, and it checks at `bindAsync` that every registered method has a
 * policy entry (a startup error names those that do not) and that plaintext binds are loopback
 * binds that were explicitly allowed.
 *
 * @example
 * const server = new Server()
 * auth(server, { policy, verifiers: [mtlsVerifier({ identity: 'spiffe', trustDomains: ['mesh.local'], grants }) ] })
 * server.addService(Inventory.service, { reserve })
 * server.bindAsync('0.0.0.0:50051', ServerCredentials.createSsl(ca, [keyCert], true), () => {})
 */
export function auth(server: Server, options: GrpcAuthOptions): void {
  const internals = server as unknown as ServerInternals
  if (typeof server?.bindAsync !== 'function' || typeof server.addService !== 'function') {
    throw new ConfigError(`${WHERE}: auth(server, options) needs a @grpc/grpc-js Server as "server"`)
  }
  if (!Array.isArray(internals.interceptors) || !(internals.handlers instanceof Map)) {
    throw new ConfigError(
      `${WHERE}: this @grpc/grpc-js has no server interceptors; use version 1.12 or later`,
    )
  }
  if (attached.has(server)) throw new ConfigError(`${WHERE}: auth() is already attached to this server`)
  if (options?.allowPlaintextLoopback !== undefined && typeof options.allowPlaintextLoopback !== 'boolean') {
    throw new ConfigError(`${WHERE}: "allowPlaintextLoopback" must be a boolean`)
  }
  const resolved = resolveAdapterOptions(options, WHERE)
  const { pipeline } = resolved
  const allowPlaintext = options.allowPlaintextLoopback === true

  const interceptor: ServerInterceptor = (method, call) =>
    new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata: Metadata, forward: (metadata: Metadata) => void) {
            const apply = (decision: Decision) => {
              if (!decision.allowed) {
                call.sendStatus(grpcRefusal(decision.error))
                return
              }
              setCallState(metadata, { caller: decision.caller, dryRun: pipeline.dryRun })
              forward(metadata)
            }
            const decision = decideOrRefuse(pipeline, fromGrpc(call, method.path, metadata))
            if (decision instanceof Promise) decision.then(apply)
            else apply(decision)
          },
        })
      },
    })
  Object.defineProperty(interceptor, 'name', { value: 'callsignInterceptor' })
  internals.interceptors.unshift(interceptor)

  const bindAsync = server.bindAsync
  server.bindAsync = function callsignBindAsync(
    port: string,
    creds: ServerCredentials,
    callback: (error: Error | null, port: number) => void,
  ) {
    if (!creds._isSecure()) {
      if (!allowPlaintext) {
        throw new ConfigError(
          `${WHERE}: plaintext bind to ${port} refused: use TLS, or pass allowPlaintextLoopback: true for a loopback sidecar`,
        )
      }
      if (!isLoopbackBind(port)) {
        throw new ConfigError(
          `${WHERE}: plaintext bind to ${port} refused: plaintext is allowed on loopback only`,
        )
      }
    }
    checkCoverage(resolved, internals.handlers?.keys() ?? [], WHERE)
    return bindAsync.call(this, port, creds, callback)
  }
  attached.add(server)
}
