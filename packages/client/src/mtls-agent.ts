import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import { inspect } from 'node:util'
import { ConfigError, watchFiles } from '@callsign/core'
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
  /** PEM CA bundle file the servers' certificates are checked against. */
  readonly ca: string
  /** Reload the files when they change. Default true. */
  readonly watch?: boolean
  /** Called after new certificate material was loaded. */
  readonly onReload?: () => void
  /**
   * Called when changed files do not form a usable certificate, key and CA (for instance between
   * the writes of a certificate and its key); the last good material stays in use. Default: a
   * process warning (code `CALLSIGN_CERT_RELOAD`) naming the files.
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

interface Material {
  readonly cert: Buffer
  readonly key: Buffer
  readonly ca: Buffer
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
  for (const name of ['cert', 'key', 'ca'] as const) {
    if (typeof options?.[name] !== 'string' || options[name].length === 0) {
      throw new ConfigError(`mtlsAgent: "${name}" must be a file path`)
    }
  }
  const timeout = options.connectTimeoutMs ?? 10_000
  if (!Number.isSafeInteger(timeout) || timeout < 1) {
    throw new ConfigError('mtlsAgent: "connectTimeoutMs" must be a positive integer')
  }
  const files = { cert: options.cert, key: options.key, ca: options.ca }
  const onError =
    options.onError ??
    ((error: ConfigError) =>
      process.emitWarning(`${error.message}; keeping the last good certificate`, {
        code: 'CALLSIGN_CERT_RELOAD',
      }))

  const build = (material: Material) => buildConnector({ ...material, timeout, rejectUnauthorized: true })
  let connector = build(load(files))
  const dispatcher = new Agent({ connect: (opts, callback) => connector(opts, callback) })

  const reload = (): boolean => {
    try {
      connector = build(load(files))
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      onError(error)
      return false
    }
    options.onReload?.()
    return true
  }
  const watcher = options.watch === false ? undefined : watchFiles([files.cert, files.key, files.ca], reload)

  return Object.freeze({
    kind: 'mtls' as const,
    dispatcher,
    authorization: async () => undefined,
    invalidate: () => {},
    reload,
    close: async () => {
      watcher?.close()
      await dispatcher.close()
    },
    toJSON: () => ({ kind: 'mtls', ...files }),
    [inspect.custom]: () => `MtlsAgent ${inspect(files)}`,
  })
}

/** Reads the three files and checks that they make a TLS context (the key matches the certificate). */
function load(files: { cert: string; key: string; ca: string }): Material {
  const read = (name: 'cert' | 'key' | 'ca') => {
    try {
      return readFileSync(files[name])
    } catch (cause) {
      throw new ConfigError(`mtlsAgent: cannot read "${name}" file ${files[name]}`, { cause })
    }
  }
  const material = { cert: read('cert'), key: read('key'), ca: read('ca') }
  try {
    createSecureContext(material)
  } catch (cause) {
    throw new ConfigError(
      `mtlsAgent: "cert" ${files.cert}, "key" ${files.key} and "ca" ${files.ca} do not form a usable TLS identity (unparsable PEM, or a key that does not match the certificate)`,
      { cause },
    )
  }
  return material
}
