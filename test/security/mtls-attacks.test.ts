import { type AttackRow, runAttackTable, writeRoute } from './support/attack-table.js'
import { ext, type SecurityCredentials, SPIFFE_READER, SPIFFE_WRITER } from './support/credentials.js'

// Client certificates made with openssl, presented to every adapter: the certificate table of
// the mTLS issue and SPIFFE ID grammar edge cases, end to end to the real mtlsVerifier. HTTPS
// servers request a certificate (the verifier decides); the gRPC port requires one from the CA,
// so a certificate from another CA never completes its handshake (status 14, nothing served).
// The verifier's own table is packages/mtls/test/mtls-verifier.test.ts ("the bad-certificate table").

const invalid = { code: 'ERR_INVALID_CREDENTIAL' } as const
const withUri = (uri: string) => (c: SecurityCredentials) => ({ cert: c.cert('uri', ext(`URI:${uri}`)) })
const handshakeRefused = { status: 14, why: 'UNAVAILABLE: the gRPC handshake refuses it' } as const

const rows: AttackRow[] = [
  {
    name: 'control: the reader SPIFFE ID',
    request: withUri(SPIFFE_READER),
    expect: { allow: SPIFFE_READER },
  },
  {
    name: 'control: the writer SPIFFE ID on the write route',
    request: (c, a) => ({ ...writeRoute(a), ...withUri(SPIFFE_WRITER)(c) }),
    expect: { allow: SPIFFE_WRITER },
  },
  {
    name: 'the reader SPIFFE ID on the write route',
    request: (c, a) => ({ ...writeRoute(a), ...withUri(SPIFFE_READER)(c) }),
    expect: { code: 'ERR_INSUFFICIENT_SCOPE' },
  },
  {
    name: 'an ID of our trust domain without a grant',
    request: withUri('spiffe://mesh.local/ns/prod/sa/nobody'),
    expect: { code: 'ERR_INSUFFICIENT_SCOPE' },
  },
  {
    name: 'the writer ID in the CN only, no SAN (never falls back to CN)',
    request: (c) => ({ cert: c.cert(SPIFFE_WRITER, ext(null)) }),
    expect: invalid,
  },
  {
    name: 'two URI SANs (reader and writer)',
    request: (c) => ({ cert: c.cert('two', ext(`URI:${SPIFFE_READER},URI:${SPIFFE_WRITER}`)) }),
    expect: invalid,
  },
  {
    name: 'a DNS SAN only',
    request: (c) => ({ cert: c.cert('dns', ext('DNS:writer.mesh.local')) }),
    expect: invalid,
  },
  {
    name: 'another trust domain',
    request: withUri('spiffe://evil.local/ns/prod/sa/writer'),
    expect: invalid,
  },
  {
    name: 'a look-alike trust domain (mesh.local.evil)',
    request: withUri('spiffe://mesh.local.evil/ns/prod/sa/writer'),
    expect: invalid,
  },
  {
    name: 'the trust domain in upper case',
    request: withUri('spiffe://MESH.LOCAL/ns/prod/sa/writer'),
    expect: invalid,
  },
  {
    name: 'the scheme in upper case',
    request: withUri('SPIFFE://mesh.local/ns/prod/sa/writer'),
    expect: invalid,
  },
  { name: 'an https URI SAN', request: withUri('https://mesh.local/ns/prod/sa/writer'), expect: invalid },
  {
    name: 'a percent-encoded path (%77riter)',
    request: withUri('spiffe://mesh.local/ns/prod/sa/%77riter'),
    expect: invalid,
  },
  {
    name: 'a dot-dot segment',
    request: withUri('spiffe://mesh.local/ns/prod/sa/x/../writer'),
    expect: invalid,
  },
  { name: 'a trailing slash', request: withUri(`${SPIFFE_WRITER}/`), expect: invalid },
  { name: 'an empty segment', request: withUri('spiffe://mesh.local/ns//prod/sa/writer'), expect: invalid },
  { name: 'a port', request: withUri('spiffe://mesh.local:443/ns/prod/sa/writer'), expect: invalid },
  { name: 'userinfo', request: withUri('spiffe://writer@mesh.local/ns/prod/sa/writer'), expect: invalid },
  { name: 'a query', request: withUri(`${SPIFFE_READER}?as=writer`), expect: invalid },
  { name: 'a fragment', request: withUri(`${SPIFFE_READER}#writer`), expect: invalid },
  {
    name: 'the trust domain ID alone (no workload path)',
    request: withUri('spiffe://mesh.local'),
    expect: invalid,
  },
  {
    name: 'a leaf that is a CA (CA:TRUE)',
    request: (c) => ({
      cert: c.cert(
        'ca-leaf',
        ext(`URI:${SPIFFE_WRITER}`, 'clientAuth', 'basicConstraints=critical,CA:TRUE\n'),
      ),
    }),
    expect: invalid,
  },
  {
    name: 'a leaf (CA:FALSE) with keyUsage keyCertSign (X509-SVID §4.3)',
    request: (c) => ({
      cert: c.cert(
        'leaf-cert-sign',
        ext(`URI:${SPIFFE_WRITER}`, 'clientAuth', 'keyUsage=critical,digitalSignature,keyCertSign\n'),
      ),
    }),
    expect: invalid,
  },
  {
    name: 'a leaf (CA:FALSE) with keyUsage cRLSign (X509-SVID §4.3)',
    request: (c) => ({
      cert: c.cert(
        'leaf-crl-sign',
        ext(`URI:${SPIFFE_WRITER}`, 'clientAuth', 'keyUsage=critical,digitalSignature,cRLSign\n'),
      ),
    }),
    expect: invalid,
  },
  {
    name: 'an RSA-1024 leaf',
    request: (c) => ({ cert: c.cert('rsa-1024', ext(`URI:${SPIFFE_WRITER}`), { rsaBits: 1024 }) }),
    expect: invalid,
  },
  {
    name: 'no extended key usage',
    request: (c) => ({ cert: c.cert('no-eku', ext(`URI:${SPIFFE_WRITER}`, '')) }),
    expect: invalid,
  },
  {
    name: 'serverAuth only',
    request: (c) => ({ cert: c.cert('server-eku', ext(`URI:${SPIFFE_WRITER}`, 'serverAuth')) }),
    expect: { express: invalid, fastify: invalid, grpc: handshakeRefused },
  },
  {
    name: 'the writer ID signed by a CA we do not trust',
    request: (c) => ({ cert: c.cert('stranger', ext(`URI:${SPIFFE_WRITER}`), { untrusted: true }) }),
    expect: { express: invalid, fastify: invalid, grpc: handshakeRefused },
  },
]

runAttackTable('mTLS attacks', rows)
