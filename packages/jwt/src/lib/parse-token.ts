import { invalid } from './fail.js'

export interface ParsedToken {
  readonly header: Readonly<Record<string, unknown>>
  readonly payload: Readonly<Record<string, unknown>>
  /** `<header>.<payload>` as sent, the bytes the signature covers. */
  readonly signingInput: Buffer
  readonly signature: Buffer
}

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/
/** A compact JWS: three base64url segments, the header not empty. */
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/
// ignoreBOM keeps a leading byte order mark in the text, where JSON.parse refuses it: RFC 8259 §8.1
// says senders must not add one, and stripping it would give one token two spellings.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * True when a bearer value is shaped like a compact JWS: token68 syntax with exactly three
 * dot-separated parts. Anything else is not ours (an API key verifier may claim it).
 */
function looksLikeJwt(value: string): boolean {
  if (!TOKEN68.test(value)) return false
  const first = value.indexOf('.')
  if (first <= 0) return false
  const second = value.indexOf('.', first + 1)
  return second > first && value.indexOf('.', second + 1) === -1
}

/**
 * Splits and decodes a compact JWS strictly: canonical base64url, UTF-8 JSON objects. Returns null
 * for a value that is not JWT-shaped at all (see {@link looksLikeJwt}): another verifier's
 * credential. A well-formed token is scanned once.
 */
export function parseToken(token: string, maxBytes: number): ParsedToken | null {
  if (token.length > maxBytes || !JWS.test(token)) {
    if (!looksLikeJwt(token)) return null
    throw invalid(token.length > maxBytes ? 'token_too_large' : 'malformed')
  }
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  const header = decodeJson(token.slice(0, first))
  const payload = decodeJson(token.slice(first + 1, second))
  const signature = decodeSegment(token.slice(second + 1))
  return { header, payload, signingInput: Buffer.from(token.slice(0, second), 'latin1'), signature }
}

/** The value of one base64url character (the alphabet is checked before this is asked). */
function sextet(code: number): number {
  if (code >= 97) return code - 71 // a-z
  if (code >= 65) return code === 95 ? 63 : code - 65 // A-Z, '_'
  if (code >= 48) return code + 4 // 0-9
  return 62 // '-'
}

/** One segment, its alphabet already checked. */
function decodeSegment(segment: string): Buffer {
  const rest = segment.length % 4
  if (rest === 1) throw invalid('malformed')
  // Reject non-canonical encodings, so one token has one spelling: the bits of the last character
  // that fall past the last whole byte must be zero (4 of them after 2 characters, 2 after 3). Given
  // the alphabet, that is exactly "re-encoding the bytes gives the segment back", without re-encoding.
  if (rest !== 0) {
    const unused = rest === 2 ? 0b1111 : 0b11
    if ((sextet(segment.charCodeAt(segment.length - 1)) & unused) !== 0) throw invalid('malformed')
  }
  return Buffer.from(segment, 'base64url')
}

function decodeJson(segment: string): Record<string, unknown> {
  if (segment.length === 0) throw invalid('malformed')
  let value: unknown
  try {
    value = JSON.parse(utf8.decode(decodeSegment(segment)))
  } catch (cause) {
    if (cause instanceof Error && cause.name === 'AuthError') throw cause
    throw invalid('malformed', cause)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('malformed')
  return value as Record<string, unknown>
}
