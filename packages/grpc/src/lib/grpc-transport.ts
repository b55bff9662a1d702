import type { ServerHttp2Session } from 'node:http2'
import type { Socket } from 'node:net'

/*
 * Everything Callsign relies on about @grpc/grpc-js beyond its documented API, in one file.
 *
 * grpc-js documents the Server's `interceptors` option, ServerInterceptingCall, `getAuthContext()`,
 * `getConnectionInfo()` and `setLogger()`. It gives no public way to the HTTP/2 stream under a
 * call, and Callsign needs two things only that stream gives:
 *   1. the socket: the TLS peer's whole chain and the handshake's verdict, and one object that
 *      lives as long as the connection (`getAuthContext()` gives the leaf certificate only);
 *   2. the raw header list: Node's HTTP/2 layer keeps only the first of two `authorization`
 *      headers before grpc-js builds the Metadata, so a repeated one is visible nowhere else.
 * It walks grpc-js's call objects (`nextCall`, then `stream`, private fields) to the Node stream and
 * then uses Node's own API: `stream.session`, `session.socket`, `session.server` and that server's
 * 'stream' event, whose fourth argument is the raw header list. The session is also how a refused
 * certificate's connection is ended (`session.close()`: grpc-js has no public way to end one
 * connection of a server). The server is watched from the
 * first call Callsign sees on it, so that call's own raw headers were gone before it could look:
 * for it, and wherever the walk finds nothing, the call is decided on grpc-js's Metadata alone.
 * test/adapters/grpc-versions.test.ts runs the adapter against the lowest and the highest grpc-js
 * the peer range allows, so a release that moves any of this fails CI.
 */

interface NodeStream {
  readonly session?: ServerHttp2Session
}

/** The raw header lists of the streams of every watched server, until the stream is collected. */
const rawHeaders = new WeakMap<object, readonly string[]>()
const watched = new WeakSet<object>()

function streamOf(call: unknown): NodeStream | undefined {
  let current = call as { stream?: NodeStream; nextCall?: unknown } | undefined
  for (let depth = 0; depth < 16 && current; depth++) {
    if (current.stream?.session) return current.stream
    current = current.nextCall as typeof current
  }
  return undefined
}

function watch(server: unknown): void {
  const emitter = server as {
    prependListener?: (event: string, listener: (...args: never[]) => void) => void
  }
  if (watched.has(server as object) || typeof emitter.prependListener !== 'function') return
  emitter.prependListener('stream', (stream: object, _headers: unknown, _flags: unknown, raw: unknown) => {
    if (Array.isArray(raw)) rawHeaders.set(stream, raw as string[])
  })
  watched.add(server as object)
}

/** What lies under one call: its socket and, once its server is watched, its raw header list. */
export interface CallTransport {
  readonly socket: Socket | undefined
  /** The call's HTTP/2 session (Node's), the socket's owner. */
  readonly session: ServerHttp2Session | undefined
  /** `[name, value, name, value, …]` as received, or undefined when not known for this call. */
  readonly rawHeaders: readonly string[] | undefined
}

export function transportOf(call: unknown): CallTransport {
  const stream = streamOf(call)
  const session = stream?.session
  if (session?.server) watch(session.server)
  return {
    socket: session?.socket as Socket | undefined,
    session,
    rawHeaders: stream ? rawHeaders.get(stream) : undefined,
  }
}
