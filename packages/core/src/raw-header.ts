const NONE: readonly string[] = Object.freeze([])

/**
 * Every value of one header, in order, read from a Node request's raw name/value list (what the
 * parser saw, duplicates included): the same answer as `headersDistinct[name]`, without building
 * a dictionary of every header for each request. `name` is lower-case. For the HTTP adapters.
 *
 * @example
 * const header = (name: string) => rawHeader(req.rawHeaders, name.toLowerCase())
 */
export function rawHeader(rawHeaders: readonly string[] | undefined, name: string): readonly string[] {
  if (rawHeaders === undefined) return NONE
  let values: string[] | undefined
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i]!
    if (raw.length === name.length && (raw === name || raw.toLowerCase() === name)) {
      if (values === undefined) values = [rawHeaders[i + 1]!]
      else values.push(rawHeaders[i + 1]!)
    }
  }
  return values ?? NONE
}
