import type { Policy, Requirement } from '@callsign/core'

/**
 * The policy entry a concrete request line (`GET /orders/1`, or a gRPC path) falls under, found the
 * way the common routers match: a literal key first, then patterns segment by segment, where
 * `:name` matches one non-empty segment and a trailing `*` the rest. For explaining only; in a
 * service the adapter uses the route its framework matched.
 */
export function matchRoute(policy: Policy, line: string): Requirement | undefined {
  const trimmed = line.trim()
  if (trimmed.startsWith('/')) return policy.requirement('grpc', 'POST', trimmed)
  const [rawMethod = '', path = ''] = trimmed.split(/\s+/, 2)
  const method = rawMethod.toUpperCase()
  const exact = policy.requirement('http', method, path)
  if (exact) return exact
  const target = method === 'HEAD' ? 'GET' : method
  const segments = path.split('/')
  return policy.requirements.find((requirement) => {
    const [keyMethod, pattern = ''] = requirement.key.split(' ', 2)
    if (keyMethod !== target) return false
    const parts = pattern.split('/')
    return (
      parts.every((part, index) => {
        if (part === '*' && index === parts.length - 1) return true
        const segment = segments[index]
        if (segment === undefined) return false
        return part.startsWith(':') ? segment.length > 0 : part === segment
      }) &&
      (parts.at(-1) === '*' || parts.length === segments.length)
    )
  })
}
