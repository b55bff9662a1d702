/**
 * A small DER reader and writer: just what X.509 certificates need. Internal, never exported.
 */

export interface DerNode {
  /** Offset of the identifier octet. */
  readonly offset: number
  /** The full identifier octet (class, constructed bit and tag number). */
  readonly tag: number
  /** Offset of the contents in the buffer. */
  readonly start: number
  /** Offset just past the contents. */
  readonly end: number
  readonly buffer: Uint8Array
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const

/** Reads the one element that starts at `offset`. Throws on anything malformed or indefinite. */
export function readNode(buffer: Uint8Array, offset = 0, limit = buffer.length): DerNode {
  if (offset + 2 > limit) throw new RangeError('DER: truncated header')
  const tag = buffer[offset]!
  if ((tag & 0x1f) === 0x1f) throw new RangeError('DER: high tag numbers are not supported')
  let length = buffer[offset + 1]!
  let start = offset + 2
  if (length & 0x80) {
    const count = length & 0x7f
    if (count === 0 || count > 4) throw new RangeError('DER: unsupported length')
    if (start + count > limit) throw new RangeError('DER: truncated length')
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + buffer[start + i]!
    start += count
  }
  const end = start + length
  if (end > limit) throw new RangeError('DER: truncated contents')
  return { offset, tag, start, end, buffer }
}

/** The elements inside a constructed element. */
export function children(node: DerNode): DerNode[] {
  const nodes: DerNode[] = []
  let offset = node.start
  while (offset < node.end) {
    const child = readNode(node.buffer, offset, node.end)
    nodes.push(child)
    offset = child.end
  }
  return nodes
}

export function contents(node: DerNode): Uint8Array {
  return node.buffer.subarray(node.start, node.end)
}

/** Dotted form of an OBJECT IDENTIFIER's contents. */
export function decodeOid(bytes: Uint8Array): string {
  const parts: number[] = []
  let value = 0
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f)
    if ((byte & 0x80) === 0) {
      if (parts.length === 0)
        parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80)
      else parts.push(value)
      value = 0
    }
  }
  return parts.join('.')
}

// ---- writing ----

function length(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n)
  const bytes: number[] = []
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff)
  return Uint8Array.of(0x80 | bytes.length, ...bytes)
}

/** One element from its identifier octet and contents. */
export function node(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts)
  return Buffer.concat([Uint8Array.of(tag), length(body.length), body])
}

export const sequence = (...parts: Uint8Array[]) => node(TAG.SEQUENCE, ...parts)
export const set = (...parts: Uint8Array[]) => node(TAG.SET, ...parts)
export const octetString = (bytes: Uint8Array) => node(TAG.OCTET_STRING, bytes)
export const utf8String = (text: string) => node(TAG.UTF8_STRING, Buffer.from(text, 'utf8'))
export const ia5String = (text: string) => node(TAG.IA5_STRING, Buffer.from(text, 'ascii'))
export const boolean = (value: boolean) => node(TAG.BOOLEAN, Uint8Array.of(value ? 0xff : 0))
/** `[n]` context-specific, constructed (EXPLICIT) or primitive (IMPLICIT). */
export const contextTag = (n: number, constructed: boolean, ...parts: Uint8Array[]) =>
  node(0x80 | (constructed ? 0x20 : 0) | n, ...parts)

/** A non-negative INTEGER from its big-endian magnitude. */
export function unsignedInteger(magnitude: Uint8Array | number): Uint8Array {
  let bytes = typeof magnitude === 'number' ? Uint8Array.of(magnitude) : magnitude
  let first = 0
  while (first < bytes.length - 1 && bytes[first] === 0) first++
  bytes = bytes.subarray(first)
  return node(TAG.INTEGER, bytes[0]! & 0x80 ? Buffer.concat([Uint8Array.of(0), bytes]) : bytes)
}

/** A BIT STRING of whole bytes. */
export const bitString = (bytes: Uint8Array) => node(TAG.BIT_STRING, Uint8Array.of(0), bytes)

/** A named-bit BIT STRING (KeyUsage): bit 0 is the most significant bit of the first byte. */
export function namedBits(bits: readonly number[]): Uint8Array {
  const size = Math.floor(Math.max(...bits) / 8) + 1
  const bytes = new Uint8Array(size)
  for (const bit of bits) bytes[Math.floor(bit / 8)]! |= 0x80 >> (bit % 8)
  const last = bytes[size - 1]!
  let unused = 0
  while (unused < 7 && (last & (1 << unused)) === 0) unused++
  return node(TAG.BIT_STRING, Uint8Array.of(unused), bytes)
}

export function oid(dotted: string): Uint8Array {
  const parts = dotted.split('.').map(Number)
  const values = [parts[0]! * 40 + parts[1]!, ...parts.slice(2)]
  const bytes: number[] = []
  for (const value of values) {
    const chunk = [value & 0x7f]
    for (let rest = Math.floor(value / 128); rest > 0; rest = Math.floor(rest / 128))
      chunk.unshift(0x80 | (rest & 0x7f))
    bytes.push(...chunk)
  }
  return node(TAG.OID, Uint8Array.from(bytes))
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5), whole seconds. */
export function time(date: Date): Uint8Array {
  const iso = date.toISOString() // 2026-01-02T03:04:05.000Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '')
  const year = date.getUTCFullYear()
  if (year >= 1950 && year < 2050) return node(TAG.UTC_TIME, Buffer.from(`${digits.slice(2)}Z`, 'ascii'))
  return node(TAG.GENERALIZED_TIME, Buffer.from(`${digits}Z`, 'ascii'))
}

/** The Date of a UTCTime or GeneralizedTime element (whole seconds, `Z`). */
export function readTime(element: DerNode): Date {
  const text = Buffer.from(contents(element)).toString('latin1')
  const match =
    element.tag === TAG.UTC_TIME
      ? text.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/)
      : text.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/)
  if (!match) throw new RangeError('DER: not a UTCTime or GeneralizedTime')
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[]
  const year = element.tag === TAG.UTC_TIME ? (y! < 50 ? 2000 + y! : 1900 + y!) : y!
  return new Date(Date.UTC(year, mo! - 1, d!, h!, mi!, s!))
}
