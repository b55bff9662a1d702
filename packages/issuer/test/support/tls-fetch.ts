import { request } from 'node:https'

/**
 * A fetch over node:https with our CA and, optionally, a client certificate: Node's global fetch
 * cannot present one without a dispatcher from a package this repository does not depend on.
 * Used as openid-client's and jose's `customFetch`.
 */
export function tlsFetch(tls: { ca: string; cert?: string; key?: string }) {
  return (
    url: string,
    options: { method?: string; headers?: ConstructorParameters<typeof Headers>[0]; body?: unknown },
  ) =>
    new Promise<Response>((resolve, reject) => {
      const headers: Record<string, string> = {}
      new Headers(options.headers).forEach((value, name) => {
        headers[name] = value
      })
      const req = request(url, { method: options.method ?? 'GET', headers, ...tls }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const responseHeaders = new Headers()
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') responseHeaders.set(name, value)
          }
          resolve(
            new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: responseHeaders }),
          )
        })
      })
      req.on('error', reject)
      req.end(options.body === undefined || options.body === null ? undefined : String(options.body))
    })
}
