import { inspect } from 'node:util'
import { ConfigError } from '@callsign/core'
import { warn } from '@callsign/core/adapter'
import { type ClientTls, type SpiffeAuthorizer, tlsClientOptions } from '@callsign/mtls'
import { Agent, buildConnector } from 'undici'
import type { Credentials } from './credentials.js'

/**
 * Options of {@link mtlsAgent}: three PEM files.
 *
 * @example
 * mtlsAgent({ cert: '/run/tls/tls.crt', key: '/run/tls/tls.key', ca: '/run/tls/ca.crt', watch: true })
 */
export interface MtlsAgentOptions {
  /** PEM client certificate file (leaf first, then intermediates). */
  readonly cert: string
  /** PEM private key file of the certificate. */
  readonly key: string
  /** PEM CA bundle file the servers' certificates are checked against (not with `trustDomains`). */
  readonly ca?: string
  /**
   * Authenticate the server by its SPIFFE ID (an ID, or an authorizer from `@callsign/mtls`)
   * instead of its host name. Its certificate must chain to a CA bound to the ID's trust domain:
   * a `ca` of one CA and a `serverId` string bind implicitly; otherwise name `trustDomain`, or
   * give `trustDomains`. Default: the host name check.
   */
  readonly serverId?: string | SpiffeAuthorizer
  /** With `serverId`: the trust domain every CA of `ca` vouches for. */
  readonly trustDomain?: string
  /** With `serverId`: trust domain → its CA bundle file (federation), instead of `ca`. */
  readonly trustDomains?: Readonly<Record<string, { readonly ca: string }>>
  /** Reload the files when they change. Default true. */
  readonly watch?: boolean
  /** Called after new certificate material was loaded. */
  readonly onReload?: () => void
  /**
   * Called when changed files do not form a usable certificate, key and CA (for instance between
   * the writes of a certificate and its key); the last good material stays in use. Default: a
   * process warning (code `CALLSIGN_TLS_RELOAD`, as `@callsign/mtls`) naming the files.
   */
  readonly onError?: (error: ConfigError) => void
  /** TCP + TLS connect timeout in milliseconds. Default 10 000. */
  readonly connectTimeoutMs?: number
}

/**
 * The client side of mutual TLS: an undici dispatcher presenting a client certificate.
 *
 * @example
 * const res = await fetch(url, { dispatcher: tls.dispatcher }) // undici's fetch
 * await tls.close()
 */
export interface MtlsAgent extends Credentials {
  readonly kind: 'mtls'
  /** Pass as `dispatcher` to undici's `fetch` or `request` (not to Node's global `fetch`). */
  readonly dispatcher: Agent
  /** Re-reads the files now; false (and the last good material stays) when they are not usable. */
  reload(): boolean
  /** Stops watching and closes the agent's connections once their requests finish. */
  close(): Promise<void>
}

/**
 * An undici `Agent` that presents a client certificate and trusts a CA bundle, all read from files
 * and hot-reloaded: new connections use the new certificate, open ones finish with the old. Bad
 * files at startup throw a {@link ConfigError} naming the option; at a reload they keep the last
 * good material. Use it with undici's own `fetch` (Node's global `fetch` bundles another undici).
 *
 * @example
 * import { fetch } from 'undici'
 * const tls = mtlsAgent({ cert: '/run/tls/tls.crt', key: '/run/tls/tls.key', ca: '/run/tls/ca.crt' })
 * const res = await fetch('https://orders.internal/orders/42', { dispatcher: tls.dispatcher })
 */
export function mtlsAgent(options: MtlsAgentOptions): MtlsAgent {
  const required =
    options?.trustDomains === undefined ? (['cert', 'key', 'ca'] as const) : (['cert', 'key'] as const)
  for (const name of required) {
    if (typeof options?.[name] !== 'string' || options[name].length === 0) {
      throw new ConfigError(`mtlsAgent: "${name}" must be a file path`)
    }
  }
  if (
    (options.trustDomain !== undefined || options.trustDomains !== undefined) &&
    options.serverId === undefined
  ) {
    throw new ConfigError(
      'mtlsAgent: "trustDomain" and "trustDomains" bind the CAs that vouch for a "serverId": give one',
    )
  }
  const timeout = options.connectTimeoutMs ?? 10_000
  if (!Number.isSafeInteger(timeout) || timeout < 1) {
    throw new ConfigError('mtlsAgent: "connectTimeoutMs" must be a positive integer')
  }
  // The agent's own default report, so that its message names mtlsAgent, not tlsClientOptions.
  const onError =
    options.onError ??
    ((error: ConfigError) =>
      warn(undefined, 'CALLSIGN_TLS_RELOAD', `${error.message}; keeping the last good certificates`))
  const build = () => buildConnector({ ...tls.options, timeout, rejectUnauthorized: true })
  // @callsign/mtls reads, checks and watches the files, and checks the server's SPIFFE ID if asked.
  const tls = clientTls(options, {
    onReload: () => {
      connector = build()
      options.onReload?.()
    },
    onError,
  })
  let connector = build()
  const dispatcher = new Agent({ connect: (opts, callback) => connector(opts, callback) })
  const files = { cert: options.cert, key: options.key, ca: options.ca }

  return Object.freeze({
    kind: 'mtls' as const,
    dispatcher,
    authorization: async () => undefined,
    invalidate: () => {},
    reload: () => tls.reload(),
    close: async () => {
      tls.close()
      await dispatcher.close()
    },
    toJSON: () => ({ kind: 'mtls', ...files }),
    [inspect.custom]: () => `MtlsAgent ${inspect(files)}`,
  })
}

/** `tlsClientOptions` for the agent's files, its errors named after {@link mtlsAgent}. */
function clientTls(
  options: MtlsAgentOptions,
  hooks: { onReload(): void; onError(error: ConfigError): void },
): ClientTls {
  const rename = (error: ConfigError) =>
    new ConfigError(error.message.replace(/^tlsClientOptions:/, 'mtlsAgent:'), { cause: error })
  try {
    return tlsClientOptions({
      ...(options.trustDomains ? { trustDomains: options.trustDomains } : { ca: options.ca as string }),
      ...(options.trustDomain !== undefined ? { trustDomain: options.trustDomain } : {}),
      ...(options.serverId !== undefined ? { serverId: options.serverId } : {}),
      cert: options.cert,
      key: options.key,
      watch: options.watch !== false,
      onReload: hooks.onReload,
      onError: (error) => hooks.onError(rename(error)),
    })
  } catch (error) {
    throw error instanceof ConfigError ? rename(error) : error
  }
}
