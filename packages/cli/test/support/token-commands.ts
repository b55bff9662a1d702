import { type CliResult, runCli } from '../../../../test/support/run-cli.js'

/** The issuer the CLI tests mint and inspect tokens for. */
export const ISS = 'https://issuer.test'

/**
 * `callsign tokens mint` with the key directory `dir`: a token from `billing` for `orders` holding
 * `orders:read`, changed or added to by `extra` (`--scope`, `--ttl`…).
 */
export function mintToken(dir: string, ...extra: string[]): Promise<CliResult> {
  const claims = ['--iss', ISS, '--sub', 'billing', '--aud', 'orders', '--scope', 'orders:read']
  return runCli(['tokens', 'mint', '--dir', dir, ...claims, ...extra])
}

/** `callsign tokens inspect` of `token` against the key directory `dir`, for the audience `aud`. */
export function inspectToken(
  token: string,
  dir: string,
  aud: string,
  ...extra: string[]
): Promise<CliResult> {
  return runCli(['tokens', 'inspect', token, '--dir', dir, '--iss', ISS, '--aud', aud, ...extra])
}

/** A command's `--json` output, once it has exited with `code`. */
export function jsonOf(result: CliResult, code: number): unknown {
  if (result.code !== code) {
    throw new Error(`exited ${result.code}, not ${code}: ${result.stderr || result.stdout}`)
  }
  return JSON.parse(result.stdout)
}
