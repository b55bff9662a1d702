import { isScope } from '@callsign/core'
import type { ApiKeyRecord } from '../api-key-record.js'
import { SECRET_HASH_PATTERN } from './hash-secret.js'
import { KEY_ID_PATTERN } from './key-format.js'

const LABEL_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/

/** A valid owner (caller id): 1 to 256 printable ASCII characters without whitespace. */
export function isOwner(value: unknown): value is string {
  return typeof value === 'string' && /^[\x21-\x7e]{1,256}$/.test(value)
}

export function isLabelName(value: unknown): value is string {
  return typeof value === 'string' && LABEL_NAME.test(value)
}

/**
 * Checks one record and returns a frozen copy holding exactly the known fields, or a short
 * description of the first problem (never a field's value beyond the id).
 */
export function validateRecord(value: unknown): ApiKeyRecord | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'a record is not an object'
  const r = value as Record<string, unknown>
  if (typeof r.id !== 'string' || !KEY_ID_PATTERN.test(r.id)) return 'a record has an invalid "id"'
  const where = `record ${r.id}`
  if (!isOwner(r.owner)) return `${where} has an invalid "owner"`
  if (!Array.isArray(r.scopes) || !r.scopes.every(isScope)) return `${where} has an invalid "scopes"`
  if (new Set(r.scopes).size !== r.scopes.length) return `${where} lists a scope twice`
  if (typeof r.secretHash !== 'string' || !SECRET_HASH_PATTERN.test(r.secretHash)) {
    return `${where} has an invalid "secretHash"`
  }
  if (r.state !== 'active' && r.state !== 'revoked') return `${where} has an invalid "state"`
  if (!isTime(r.createdAt)) return `${where} has an invalid "createdAt"`
  for (const field of ['expiresAt', 'revokedAt', 'lastRotatedAt', 'graceUntil'] as const) {
    if (r[field] !== null && r[field] !== undefined && !isTime(r[field]))
      return `${where} has an invalid "${field}"`
  }
  for (const field of ['rotatedFrom', 'rotatedTo'] as const) {
    const id = r[field]
    if (id !== null && id !== undefined && (typeof id !== 'string' || !KEY_ID_PATTERN.test(id))) {
      return `${where} has an invalid "${field}"`
    }
  }
  if (r.expiresAt === undefined) return `${where} has no "expiresAt" (write null for no expiry)`
  const labels = r.labels ?? {}
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels))
    return `${where} has invalid "labels"`
  for (const [name, text] of Object.entries(labels)) {
    if (!isLabelName(name) || typeof text !== 'string' || text.length > 256)
      return `${where} has an invalid label`
  }
  return Object.freeze({
    id: r.id,
    owner: r.owner,
    scopes: Object.freeze([...(r.scopes as string[])]),
    secretHash: r.secretHash,
    createdAt: r.createdAt,
    expiresAt: (r.expiresAt as string | null) ?? null,
    state: r.state,
    revokedAt: (r.revokedAt as string | null | undefined) ?? null,
    rotatedFrom: (r.rotatedFrom as string | null | undefined) ?? null,
    rotatedTo: (r.rotatedTo as string | null | undefined) ?? null,
    lastRotatedAt: (r.lastRotatedAt as string | null | undefined) ?? null,
    graceUntil: (r.graceUntil as string | null | undefined) ?? null,
    labels: Object.freeze({ ...(labels as Record<string, string>) }),
  })
}

function isTime(value: unknown): value is string {
  return typeof value === 'string' && ISO.test(value) && !Number.isNaN(Date.parse(value))
}
