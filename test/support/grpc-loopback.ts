import * as grpc from '@grpc/grpc-js'

/** The server certificate material of a test CA, as PEM buffers. */
export interface ServerPem {
  readonly ca: Buffer
  readonly serverKey: Buffer
  readonly serverCert: Buffer
}

/**
 * Binds a gRPC server on two loopback ports: mutual TLS (the given credentials, or ones requiring a
 * client certificate from `pem`'s CA) and plaintext. For the adapter and security suites.
 */
export async function bindTlsAndPlaintext(
  server: grpc.Server,
  pem: ServerPem,
  tlsCredentials?: grpc.ServerCredentials,
): Promise<{ tlsPort: number; plainPort: number }> {
  const bind = (credentials: grpc.ServerCredentials) =>
    new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (error, port) => (error ? reject(error) : resolve(port))),
    )
  const tlsPort = await bind(
    tlsCredentials ??
      grpc.ServerCredentials.createSsl(
        pem.ca,
        [{ private_key: pem.serverKey, cert_chain: pem.serverCert }],
        true,
      ),
  )
  return { tlsPort, plainPort: await bind(grpc.ServerCredentials.createInsecure()) }
}
