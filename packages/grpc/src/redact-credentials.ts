/**
 * grpc-js logs a metadata entry it refuses (a tab or a non-ASCII byte in a value) with the whole
 * value, and its `server_call` tracer logs every request's metadata: either can carry an API key or
 * a token. These rules rewrite such text before it reaches the logger.
 */
const RULES: readonly [RegExp, string][] = [
  // "Failed to add metadata entry <key>: <values>. Metadata string value "<value>" contains …"
  [/(Failed to add metadata entry [^:\s]+:)[\s\S]*/, '$1 [redacted]'],
  // a metadata dump: {"authorization":["Bearer …"],"x-api-key":["…"]}
  [
    /("[^"]*(?:authorization|api-key|token|secret|cookie|password|credential)[^"]*":\s*\[)[^\]]*\]/gi,
    '$1"[redacted]"]',
  ],
  [/\b(Bearer|Basic)\s+[^\s"',]+/gi, '$1 [redacted]'],
  [/\beyJ[\w-]*\.[\w-]*\.[\w-]*/g, '[redacted]'],
]

export function redactText(text: string): string {
  let out = text
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement)
  return out
}

const redactArg = (arg: unknown) => (typeof arg === 'string' ? redactText(arg) : arg)

/**
 * A grpc-js logger that writes through `logger` with credentials taken out of every message. Give it
 * to `grpc.setLogger()` whenever you set grpc-js's logger yourself; `auth()` installs it over
 * `console` by default.
 *
 * @example
 * grpc.setLogger(redactCredentials(myLogger))
 */
export function redactCredentials(logger: Partial<Console>): Partial<Console> {
  const wrap = (write: ((...args: unknown[]) => void) | undefined) =>
    write === undefined ? undefined : (...args: unknown[]) => write.apply(logger, args.map(redactArg))
  return {
    error: wrap(logger.error),
    info: wrap(logger.info),
    debug: wrap(logger.debug),
  }
}
