import { isIP } from 'node:net'

/**
 * True for a peer on this machine: a loopback address (`127.0.0.0/8`, `::1`, and IPv4 loopback
 * mapped into IPv6), or no address at all, which only a Unix domain socket has.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined || address === '') return true
  const ip = address.toLowerCase().replace(/^::ffff:/, '')
  if (isIP(ip) === 4) return ip.startsWith('127.')
  return ip === '::1' || ip === '0:0:0:0:0:0:0:1'
}
