import { BlockList, isIP } from 'node:net'

const loopback = new BlockList()
loopback.addSubnet('127.0.0.0', 8, 'ipv4')
loopback.addAddress('::1', 'ipv6')

/**
 * True for a host on this machine: `localhost`, an address in 127.0.0.0/8 or `::1`, in any of its
 * spellings (`[::1]` as in a URL, `0:0:0:0:0:0:0:1`, IPv4 loopback mapped into IPv6 as
 * `::ffff:127.0.0.1` or `::ffff:7f00:1`). The one loopback rule for plain-http URLs, plaintext gRPC
 * targets and plaintext gRPC peers. A name other than `localhost` is never loopback: it is not resolved.
 */
export function isLoopbackHost(host: string): boolean {
  if (host.startsWith('[') && host.endsWith(']')) {
    const inner = host.slice(1, -1)
    return isIP(inner) === 6 && loopback.check(inner, 'ipv6')
  }
  if (host.toLowerCase() === 'localhost') return true
  const family = isIP(host)
  return family !== 0 && loopback.check(host, family === 4 ? 'ipv4' : 'ipv6')
}
