/** The parameters of an `application/x-www-form-urlencoded` body, or why it was refused. */
export type ParsedForm =
  | {
      readonly ok: true
      readonly params: ReadonlyMap<string, string>
      /** Every `resource` value, in order (RFC 8707 lets it repeat). */
      readonly resources: readonly string[]
    }
  | { readonly ok: false; readonly reason: 'duplicate_parameter' | 'malformed_body' }

/**
 * Parses a form body strictly: a parameter sent twice is refused (RFC 6749 §3.2) except
 * `resource` (RFC 8707 §2), bad percent encoding is refused, and a parameter without a value counts
 * as omitted (RFC 6749 §3.1).
 */
export function parseForm(body: string): ParsedForm {
  const params = new Map<string, string>()
  const resources: string[] = []
  if (body.length === 0) return { ok: true, params, resources }
  for (const pair of body.split('&')) {
    if (pair.length === 0) continue
    const eq = pair.indexOf('=')
    const name = decode(eq === -1 ? pair : pair.slice(0, eq))
    const value = decode(eq === -1 ? '' : pair.slice(eq + 1))
    if (name === undefined || value === undefined) return { ok: false, reason: 'malformed_body' }
    if (value.length === 0) continue
    if (name === 'resource') {
      resources.push(value)
      continue
    }
    if (params.has(name)) return { ok: false, reason: 'duplicate_parameter' }
    params.set(name, value)
  }
  return { ok: true, params, resources }
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '))
  } catch {
    return undefined
  }
}
