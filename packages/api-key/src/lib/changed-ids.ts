import type { ApiKeyRecord } from '../api-key-record.js'
import { yieldEvery } from './yield-every.js'

/** The ids whose record was added, removed or changed between two versions of a store. */
export function changedIds(
  before: ReadonlyMap<string, ApiKeyRecord>,
  after: ReadonlyMap<string, ApiKeyRecord>,
): string[] {
  const changed: string[] = []
  for (const [id, record] of after) {
    const old = before.get(id)
    if (old === undefined || !sameRecord(old, record)) changed.push(id)
  }
  for (const id of before.keys()) if (!after.has(id)) changed.push(id)
  return changed
}

/** The ids of the `records` that `before` lacks or holds with other content. */
export function changedIdsOf(
  before: ReadonlyMap<string, ApiKeyRecord>,
  records: readonly ApiKeyRecord[],
): string[] {
  return records
    .filter((record) => {
      const old = before.get(record.id)
      return old === undefined || !sameRecord(old, record)
    })
    .map((record) => record.id)
}

/** {@link changedIds}, giving the event loop a turn every few milliseconds. */
export async function changedIdsInSlices(
  before: ReadonlyMap<string, ApiKeyRecord>,
  after: ReadonlyMap<string, ApiKeyRecord>,
  sliceMs = 4,
): Promise<string[]> {
  const pause = yieldEvery(sliceMs)
  const changed: string[] = []
  for (const [id, record] of after) {
    const old = before.get(id)
    if (old === undefined || !sameRecord(old, record)) changed.push(id)
    const turn = pause()
    if (turn) await turn
  }
  for (const id of before.keys()) {
    if (!after.has(id)) changed.push(id)
    const turn = pause()
    if (turn) await turn
  }
  return changed
}

function sameRecord(a: ApiKeyRecord, b: ApiKeyRecord): boolean {
  if (a === b) return true
  return (
    a.owner === b.owner &&
    a.secretHash === b.secretHash &&
    a.state === b.state &&
    a.createdAt === b.createdAt &&
    a.expiresAt === b.expiresAt &&
    a.revokedAt === b.revokedAt &&
    a.rotatedFrom === b.rotatedFrom &&
    a.rotatedTo === b.rotatedTo &&
    a.lastRotatedAt === b.lastRotatedAt &&
    a.graceUntil === b.graceUntil &&
    a.scopes.length === b.scopes.length &&
    a.scopes.every((scope, i) => scope === b.scopes[i]) &&
    sameLabels(a.labels, b.labels)
  )
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const names = Object.keys(a)
  return (
    names.length === Object.keys(b).length &&
    names.every((name) => Object.hasOwn(b, name) && a[name] === b[name])
  )
}
