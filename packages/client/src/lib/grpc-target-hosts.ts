/**
 * The hosts a gRPC target names (https://github.com/grpc/grpc/blob/master/doc/naming.md):
 * `host:port`, `[v6]:port`, `dns:[//]host:port`, `ipv4:a:port,b:port`, `ipv6:[a]:port`. A `unix:` target
 * yields `['unix']`. Undefined for a form it does not know, or a DNS target naming its own DNS server.
 */
export function grpcTargetHosts(target: string): string[] | undefined {
  if (/^unix(?:-abstract)?:/.test(target)) return ['unix']
  let rest = target
  let list = false
  if (rest.startsWith('dns:')) {
    rest = rest.slice(4)
    if (rest.startsWith('//')) {
      const slash = rest.indexOf('/', 2)
      if (slash !== 2) return undefined // dns://<dns server>/... is not ours to trust
      rest = rest.slice(3)
    }
  } else if (rest.startsWith('ipv4:') || rest.startsWith('ipv6:')) {
    rest = rest.slice(5)
    list = true
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) {
    return undefined
  }
  const parts = list ? rest.split(',') : [rest]
  const hosts: string[] = []
  for (const part of parts) {
    const host = hostOf(part)
    if (host === undefined) return undefined
    hosts.push(host)
  }
  return hosts
}

function hostOf(hostPort: string): string | undefined {
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']')
    if (end < 0) return undefined
    const tail = hostPort.slice(end + 1)
    if (tail !== '' && !/^:\d{1,5}$/.test(tail)) return undefined
    return hostPort.slice(1, end)
  }
  const colons = hostPort.split(':').length - 1
  if (colons > 1) return hostPort // a bare IPv6 address
  const [host, port] = hostPort.split(':')
  if (!host || (port !== undefined && !/^\d{1,5}$/.test(port))) return undefined
  return host
}
