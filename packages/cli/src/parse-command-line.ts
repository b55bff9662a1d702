import { parseArgs } from 'node:util'
import { type Command, type ParsedArgs, UsageError } from './command.js'

/** The options every runnable command takes besides its own. */
export function allOptions(
  command: Command,
): Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {}
  for (const [name, spec] of Object.entries(command.options ?? {})) {
    options[name] = {
      type: spec.type,
      ...(spec.multiple ? { multiple: true } : {}),
      ...(spec.short ? { short: spec.short } : {}),
    }
  }
  if (command.json !== undefined) options.json = { type: 'boolean' }
  options.help = { type: 'boolean', short: 'h' }
  return options
}

/**
 * The one argument parser of `callsign`: `node:util` parseArgs, strict, over the command's spec.
 * Its complaints become usage errors that name the user's option; an option given twice that
 * takes one value is refused (parseArgs would keep the last without a word); the positionals are
 * counted against the spec.
 */
export function parseCommandLine(command: Command, argv: readonly string[]): ParsedArgs & { help: boolean } {
  const options = allOptions(command)
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; tokens: true; allowPositionals: true }>>
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true, tokens: true })
  } catch (error) {
    throw new UsageError(parseArgsMessage(error))
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>
  const help = values.help === true
  const seen = new Map<string, string[]>()
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || options[token.name]?.multiple) continue
    const given = seen.get(token.name) ?? []
    given.push(token.value ?? '')
    seen.set(token.name, given)
    if (given.length === 2 && !help) {
      const shown =
        options[token.name]?.type === 'string'
          ? ` (${given.map((v) => JSON.stringify(v)).join(' and ')})`
          : ''
      throw new UsageError(`--${token.name} was given twice${shown}; give it once`)
    }
  }
  const positionals = parsed.positionals
  const names = command.positionals ?? []
  const least = names.length - (command.optionalPositionals ?? 0)
  if (!help && positionals.length > names.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[names.length])}`)
  }
  if (!help && positionals.length < least) {
    throw new UsageError(`missing ${names.slice(positionals.length, least).join(' ')}`)
  }
  return { values, positionals, json: values.json === true, help }
}

/** parseArgs' error as a short message naming the option (its own text suggests `--` tricks). */
function parseArgsMessage(error: unknown): string {
  const code = (error as { code?: string }).code
  const message = error instanceof Error ? error.message : String(error)
  const option = /'(-{1,2}[^'\s]+)/.exec(message)?.[1]
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (message.includes('argument missing')) return `${option} needs a value`
    if (message.includes('ambiguous')) {
      return `${option} needs a value; to give one that starts with "-", write ${option}=<value>`
    }
    return `${option} takes no value`
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return message.replace(/\. .*$/, '')
  return message
}
