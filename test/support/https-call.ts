import type { IncomingHttpHeaders } from 'node:http'
import { request } from 'node:https'

export interface HttpsCall {
  readonly port: number
  readonly method: string
  readonly path: string
  /** An object, or a flat list of raw name/value pairs (which keeps duplicates and case). */
  readonly headers: Readonly<Record<string, string>> | readonly string[]
  /** The CA the server's certificate is checked against. */
  readonly ca: string | Buffer
  /** A client certificate to present. */
  readonly cert?: { readonly cert: string | Buffer; readonly key: string | Buffer }
  readonly body?: string
}

export interface HttpsAnswer {
  readonly status: number
  readonly statusMessage: string
  readonly rawHeaders: readonly string[]
  readonly headers: IncomingHttpHeaders
  readonly text: string
}

/** One HTTPS request to a test server on 127.0.0.1 (SNI `localhost`, no connection reuse). */
export function httpsCall(call: HttpsCall): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: call.port,
        method: call.method,
        path: call.path,
        headers: call.headers as Record<string, string>,
        ca: call.ca,
        servername: 'localhost',
        ...(call.cert ?? {}),
        agent: false,
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            statusMessage: res.statusMessage ?? '',
            rawHeaders: res.rawHeaders,
            headers: res.headers,
            text,
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(call.body)
  })
}

/** HTTPS server options that ask for a client certificate and let the verifier judge it. */
export function requestingClientCertificates(certs: { serverKey: Buffer; serverCert: Buffer; ca: Buffer }) {
  return {
    key: certs.serverKey,
    cert: certs.serverCert,
    ca: certs.ca,
    requestCert: true,
    rejectUnauthorized: false,
  }
}
