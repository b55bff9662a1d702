import { execFile } from 'node:child_process'

/**
 * One unary gRPC call with one empty message, sent by curl over plaintext HTTP/2 (prior knowledge):
 * an independent client that, unlike Node's, sends a header as many times as it is given and a
 * value with a tab in it. Resolves with the grpc-status and the callsign-error-code trailer.
 *
 * @example
 * await grpcCurl(port, '/shop.v1.Inventory/Reserve', ['authorization: Bearer a', 'authorization: Bearer b'])
 */
export function grpcCurl(
  port: number,
  path: string,
  headers: readonly string[],
): Promise<{ status: number; code?: string }> {
  const args = ['-s', '-v', '--http2-prior-knowledge', '--max-time', '60']
  for (const header of ['content-type: application/grpc', 'te: trailers', ...headers]) args.push('-H', header)
  args.push('--data-binary', '@-', `http://127.0.0.1:${port}${path}`)
  return new Promise((resolve, reject) => {
    const child = execFile('curl', args, { encoding: 'latin1' }, (error, _stdout, stderr) => {
      if (error) return reject(error)
      const code = /^< callsign-error-code: (\S+)/m.exec(stderr)?.[1]
      resolve({ status: Number(/^< grpc-status: (\d+)/m.exec(stderr)?.[1]), ...(code ? { code } : {}) })
    })
    child.stdin?.end(Buffer.from([0, 0, 0, 0, 0])) // one empty message
  })
}
